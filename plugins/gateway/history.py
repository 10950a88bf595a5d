"""``/apis/history.shoal.dev/v1/...``: object history over REST (the
``shoal.v1.Objects/History`` and ``ListDeleted`` RPCs, called as the
requesting user, so they need ``get`` on the object, ``list`` on the kind,
as gRPC does).

    GET /apis/history.shoal.dev/v1/{group}/{version}/namespaces/{ns}/{plural}/{name}
    GET /apis/history.shoal.dev/v1/{group}/{version}/{plural}/{name}   (cluster scope)
    GET /apis/history.shoal.dev/v1/deleted/{group}/{version}/namespaces/{ns}/{plural}
    GET /apis/history.shoal.dev/v1/deleted/{group}/{version}/{plural}  (every namespace)

``group`` is ``core`` for the core group (pods, secrets...); no API group is
named ``deleted`` (other groups than core have a dot). An object's history
is an ``ObjectHistory``: ``items`` oldest first, each with resourceVersion,
type, verb, user, time and the object at that revision; deleted objects a
``DeletedObjectList``. Both take ``limit`` and ``continue`` as a Kubernetes
list does (``metadata.continue`` carries the next page's token).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from shoal.client import Client
from shoal.client.client import unpack
from shoal.plugins.gateway.bodies import respond, to_json
from shoal.plugins.gateway.status import bad_request

GROUP_VERSION = "history.shoal.dev/v1"
BASE = f"/apis/{GROUP_VERSION}/{{group}}/{{version}}"
DELETED = f"/apis/{GROUP_VERSION}/deleted/{{group}}/{{version}}"


def _kind(info: Any) -> str:
    group, version = info["group"], info["version"]
    qualifier = version if group == "core" else f"{version}.{group}"
    return f"{info['plural']}.{qualifier}"


def _paging(request: web.Request) -> tuple[int, str]:
    text = request.query.get("limit", "") or "0"
    try:
        limit = int(text)
    except ValueError:
        raise bad_request(f'limit: invalid value "{text}", expected an integer') from None
    return limit, request.query.get("continue", "")


def _listed(kind: str, items: list[dict[str, Any]], token: str) -> web.Response:
    metadata = {"continue": token} if token else {}
    return respond(
        {"kind": kind, "apiVersion": GROUP_VERSION, "metadata": metadata, "items": items}
    )


def add_routes(app: web.Application, client: Client) -> None:
    async def history(request: web.Request) -> web.Response:
        info = request.match_info
        limit, token = _paging(request)
        page = await client.history_page(
            _kind(info), info["name"], info.get("namespace", ""), limit, token
        )
        return _listed("ObjectHistory", [_item(e) for e in page.items], page.continue_token)

    async def deleted(request: web.Request) -> web.Response:
        info = request.match_info
        limit, token = _paging(request)
        page = await client.deleted(_kind(info), info.get("namespace", ""), limit, token)
        return _listed("DeletedObjectList", [_gone(e) for e in page.items], page.continue_token)

    # First: a ``deleted/...`` path also has the shape of an object's.
    app.router.add_get(f"{DELETED}/namespaces/{{namespace}}/{{plural}}", deleted)
    app.router.add_get(f"{DELETED}/{{plural}}", deleted)
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


def _gone(entry: Any) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "apiVersion": entry.api_version,
        "namespace": entry.namespace,
        "name": entry.name,
        "resourceVersion": entry.resource_version,
        "verb": entry.verb,
        "user": entry.user,
        "time": entry.time,
    }
