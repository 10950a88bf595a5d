"""The dashboard's actions, posted by its page as JSON: ``scale``
(``{"replicas": N}``), ``restart`` (a rollout restart, as ``kubectl rollout
restart``: the template's ``kubectl.kubernetes.io/restartedAt``) and
``delete``, on ``{"kind", "namespace", "name"}``. Each runs as the user;
bad input is a 400 with a message, the API's refusals keep their code."""

from __future__ import annotations

import datetime
from typing import Any

from aiohttp import web
from shoal import manifest
from shoal.plugins.dashboard import pages, views
from shoal.plugins.dashboard.errors import Refused

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
MAX_REPLICAS = 1_000_000


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise Refused("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise Refused("the body must be a JSON object")
    for field in ("kind", "name"):
        if not isinstance(body.get(field), str) or not body[field]:
            raise Refused(f"{field}: a string is required")
    if not isinstance(body.get("namespace", ""), str):
        raise Refused("namespace: must be a string")
    return body


async def act(request: web.Request) -> web.Response:
    action = request.match_info["action"]
    if action not in ("scale", "restart", "delete"):
        raise Refused(f'"{action[:40]}" is not an action: scale, restart or delete')
    body = await _body(request)
    client = request.app[pages.CLIENT_KEY]
    kind = views.find_kind(body["kind"])
    ns = body.get("namespace", "") if kind.namespaced else ""
    name = body["name"]
    if action == "scale":
        replicas = body.get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise Refused("replicas: a whole number is required")
        if not 0 <= replicas <= MAX_REPLICAS:
            raise Refused(f"replicas: must be between 0 and {MAX_REPLICAS}")
        if kind.strategy.scale is None:
            raise Refused(f"{kind.resource} cannot be scaled")
        await client.patch(kind, name, {"spec": {"replicas": replicas}}, ns)
        message = f"scaled {kind.kind} {name} to {replicas} replicas"
    elif action == "restart":
        obj = manifest.to_dict(await client.get(kind, name, ns))
        if not isinstance((obj.get("spec") or {}).get("template"), dict):
            raise Refused(f"{kind.resource} has no pod template to restart")
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
        await client.patch(kind, name, patch, ns)
        message = f"restarted {kind.kind} {name}"
    else:
        await client.delete(kind, name, ns)
        message = f"deleted {kind.kind} {name}"
    return web.json_response({"message": message})
