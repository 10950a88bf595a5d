"""``/api/v1/componentstatuses``: ``kubectl get cs``, from the same health
checks as ``shoal get cs`` (shoal.client.componentstatus). Read-only and
cluster-scoped; nothing is stored."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from shoal.client import Client
from shoal.client.componentstatus import NAMES, TABLE, component_statuses
from shoal.plugins.gateway.bodies import respond
from shoal.plugins.gateway.status import not_found
from shoal.plugins.gateway.table import table, wants_table

PATH = "/api/v1/componentstatuses"
KIND = "ComponentStatus"


def add_routes(app: web.Application, client: Client) -> None:
    async def listed(request: web.Request) -> web.Response:
        items = await component_statuses(client)
        if wants_table(request.headers.get("Accept", "")):
            return respond(table(TABLE, items, {}, request.query.get("includeObject", "Metadata")))
        return respond({"kind": "ComponentStatusList", "apiVersion": "v1", "items": items})

    async def one(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in NAMES:
            raise not_found(f'componentstatuses "{name}" not found')
        (item,) = [s for s in await component_statuses(client) if s["metadata"]["name"] == name]
        if wants_table(request.headers.get("Accept", "")):
            return respond(table(TABLE, [item], {}, request.query.get("includeObject", "Metadata")))
        return respond(item)

    app.router.add_get(PATH, listed)
    app.router.add_get(PATH + "/{name}", one)


def discovery_resources() -> list[dict[str, Any]]:
    return [
        {
            "name": "componentstatuses",
            "singularName": "componentstatus",
            "namespaced": False,
            "kind": KIND,
            "verbs": ["get", "list"],
            "shortNames": ["cs"],
        }
    ]
