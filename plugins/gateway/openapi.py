"""A small OpenAPI v3 document per group/version: the paths and their
operations, without object schemas.

It is what ``kubectl apply`` (and ``create -f``, ``replace``) needs: kubectl
reads the PATCH operation of a kind to learn whether the server validates
fields itself (the ``fieldValidation`` query parameter); if it does, kubectl
sends ``fieldValidation=Strict`` and skips its own schema check, and shoal's
strict decoding names any unknown field. The PATCH operation lists no
request body, so kubectl computes strategic merge patches from its compiled-in
types, as it does for any built-in kind. ``kubectl explain``, which needs the
schemas, is not served.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web
from shoal.kinds import Kind
from shoal.plugins.gateway import discovery
from shoal.plugins.gateway.bodies import respond
from shoal.plugins.gateway.paths import group_versions, kinds_of
from shoal.plugins.gateway.status import not_found

QUERY_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation", "pretty")


def _prefix(group_version: str) -> str:
    return f"api/{group_version}" if "/" not in group_version else f"apis/{group_version}"


def gv_document(group_version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for kind in kinds_of(group_version).values():
        base = f"/{_prefix(group_version)}"
        scope = f"{base}/namespaces/{{namespace}}" if kind.namespaced else base
        gvk = {"group": kind.group, "version": kind.version, "kind": kind.kind}
        paths[f"{scope}/{kind.plural}"] = _collection(gvk)
        paths[f"{scope}/{kind.plural}/{{name}}"] = _item(kind, gvk)
    major, minor = discovery.KUBERNETES_MAJOR, discovery.KUBERNETES_MINOR
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (shoal gateway)", "version": f"v{major}.{minor}.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def _operation(gvk: dict[str, str], action: str) -> dict[str, Any]:
    return {
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for name in QUERY_PARAMETERS
        ],
        "responses": {"200": {"description": "OK"}},
    }


def _collection(gvk: dict[str, str]) -> dict[str, Any]:
    return {"get": _operation(gvk, "list"), "post": _operation(gvk, "post")}


def _item(kind: Kind, gvk: dict[str, str]) -> dict[str, Any]:
    return {
        verb: _operation(gvk, action)
        for verb, action in (
            ("get", "get"),
            ("put", "put"),
            ("patch", "patch"),
            ("delete", "delete"),
        )
    }


def root() -> dict[str, Any]:
    paths = {}
    for gv in group_versions():
        digest = hashlib.sha256(json.dumps(gv_document(gv), sort_keys=True).encode()).hexdigest()
        prefix = _prefix(gv)
        paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest[:32].upper()}"}
    return {"paths": paths}


async def _root(request: web.Request) -> web.Response:
    return respond(root())


async def _group_version(request: web.Request) -> web.Response:
    tail = request.match_info["tail"]
    head, _, group_version = tail.partition("/")
    if head not in ("api", "apis") or group_version not in group_versions():
        raise not_found()
    if (head == "api") != ("/" not in group_version):
        raise not_found()
    return respond(gv_document(group_version))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/openapi/v3", _root)
    app.router.add_get("/openapi/v3/{tail:.+}", _group_version)
