"""``/apis/history.shoal.dev/v1/...``: object history over REST (the
``shoal.v1.Objects/History`` RPC, called as the requesting user, so it needs
``get`` on the object as gRPC does).

    GET /apis/history.shoal.dev/v1/{group}/{version}/namespaces/{ns}/{plural}/{name}
    GET /apis/history.shoal.dev/v1/{group}/{version}/{plural}/{name}   (cluster scope)

``group`` is ``core`` for the core group (pods, secrets...). The answer is an
``ObjectHistory``: ``items`` oldest first, each with resourceVersion, type,
verb, user, time and the object at that revision.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from shoal.client import Client
from shoal.client.client import unpack
from shoal.plugins.gateway.bodies import respond, to_json

GROUP_VERSION = "history.shoal.dev/v1"
BASE = f"/apis/{GROUP_VERSION}/{{group}}/{{version}}"


def add_routes(app: web.Application, client: Client) -> None:
    async def history(request: web.Request) -> web.Response:
        info = request.match_info
        group, version = info["group"], info["version"]
        qualifier = version if group == "core" else f"{version}.{group}"
        kind = f"{info['plural']}.{qualifier}"
        entries = await client.history(kind, info["name"], info.get("namespace", ""))
        return respond(
            {
                "kind": "ObjectHistory",
                "apiVersion": GROUP_VERSION,
                "items": [_item(entry) for entry in entries],
            }
        )

    app.router.add_get(f"{BASE}/namespaces/{{namespace}}/{{plural}}/{{name}}", history)
    app.router.add_get(f"{BASE}/{{plural}}/{{name}}", history)


def _item(entry: Any) -> dict[str, Any]:
    return {
        "resourceVersion": entry.resource_version,
        "type": entry.type,
        "verb": entry.verb,
        "user": entry.user,
        "time": entry.time,
        "object": to_json(unpack(entry.object)),
    }
