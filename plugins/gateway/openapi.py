"""The OpenAPI documents kubectl reads: v3 (``/openapi/v3``, an index of one
document per group/version) and v2 (``/openapi/v2``, one document, JSON or
gnostic protobuf), with the schema of every kind and of every message under
it (:mod:`schemas`), so ``kubectl explain`` works.

The v3 documents also carry each kind's paths and operations. kubectl reads
a kind's PATCH operation to learn whether the server validates fields itself
(the ``fieldValidation`` query parameter); since it does, kubectl sends
``fieldValidation=Strict`` and skips its own schema check, and shoal's strict
decoding names any unknown field. The PATCH operations list no request body
and the v2 document lists no paths, so kubectl computes strategic merge
patches from its compiled-in types, as for any built-in kind.

Every document is built once per process, on its first request (again only
if a plugin registers a kind later), and served as stored bytes with an ETag:
kubectl fetches them on many commands.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from shoal import kinds
from shoal.plugins.gateway import discovery, openapiv2pb, schemas
from shoal.plugins.gateway.paths import group_versions, kinds_of
from shoal.plugins.gateway.status import not_found

QUERY_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation", "pretty")
JSON = "application/json"
Fingerprint = tuple[tuple[str, str, str, object], ...]


@dataclass(frozen=True)
class Served:
    """A document as it goes on the wire, and its hash (the v3 index's
    ``?hash=`` and the ETag)."""

    body: bytes
    content_type: str = JSON

    @functools.cached_property
    def hash(self) -> str:
        return hashlib.sha512(self.body).hexdigest()[:128].upper()


def _fingerprint() -> Fingerprint:
    """What the documents depend on: the registered kinds (and the schemas
    their strategies give: a CRD's, new at each update)."""
    return tuple(
        (k.api_version, k.kind, k.full_name, k.strategy.openapi_schema and k.strategy)
        for k in kinds.all_kinds()
    )


def _prefix(group_version: str) -> str:
    return f"api/{group_version}" if "/" not in group_version else f"apis/{group_version}"


def _info() -> dict[str, str]:
    major, minor = discovery.KUBERNETES_MAJOR, discovery.KUBERNETES_MINOR
    return {"title": "Kubernetes (shoal gateway)", "version": f"v{major}.{minor}.0"}


def gv_document(group_version: str) -> dict[str, Any]:
    """The OpenAPI v3 document of one group/version."""
    served = kinds_of(group_version).values()
    paths: dict[str, Any] = {}
    for kind in served:
        base = f"/{_prefix(group_version)}"
        scope = f"{base}/namespaces/{{namespace}}" if kind.namespaced else base
        gvk = schemas.gvk(kind)
        paths[f"{scope}/{kind.plural}"] = _collection(gvk)
        paths[f"{scope}/{kind.plural}/{{name}}"] = _item(gvk)
    components = schemas.Builder(schemas.V3).add_kinds(served)
    return {
        "openapi": "3.0.0",
        "info": _info(),
        "paths": paths,
        "components": {"schemas": dict(sorted(components.items()))},
    }


def v2_document() -> dict[str, Any]:
    """The OpenAPI v2 document: the schemas of every kind (no paths)."""
    definitions = schemas.Builder(schemas.V2).add_kinds(kinds.all_kinds())
    return {
        "swagger": "2.0",
        "info": _info(),
        "paths": {},
        "definitions": dict(sorted(definitions.items())),
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


def _item(gvk: dict[str, str]) -> dict[str, Any]:
    return {verb: _operation(gvk, verb) for verb in ("get", "put", "patch", "delete")}


def _json(document: Any) -> Served:
    return Served(json.dumps(document, separators=(",", ":")).encode())


@functools.lru_cache(maxsize=2)
def _v3_documents(fingerprint: Fingerprint) -> dict[str, Served]:
    return {_prefix(gv): _json(gv_document(gv)) for gv in group_versions()}


@functools.lru_cache(maxsize=2)
def _v3_root(fingerprint: Fingerprint) -> Served:
    paths = {
        prefix: {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={served.hash}"}
        for prefix, served in _v3_documents(fingerprint).items()
    }
    return _json({"paths": paths})


@functools.lru_cache(maxsize=2)
def _v2_dict(fingerprint: Fingerprint) -> dict[str, Any]:
    return v2_document()


@functools.lru_cache(maxsize=2)
def _v2(fingerprint: Fingerprint, protobuf: bool) -> Served:
    document = _v2_dict(fingerprint)
    if protobuf:
        return Served(openapiv2pb.encode_document(document), openapiv2pb.CONTENT_TYPE)
    return _json(document)


def _send(request: web.Request, served: Served, immutable: bool = False) -> web.Response:
    etag = f'"{served.hash}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "public, immutable" if immutable else "no-cache, private",
        "Vary": "Accept",
    }
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=served.body, content_type=served.content_type, headers=headers)


async def _root(request: web.Request) -> web.Response:
    return _send(request, _v3_root(_fingerprint()))


async def _group_version(request: web.Request) -> web.Response:
    """One group/version's document. A stale ``?hash=`` is redirected to the
    current one, as kube-apiserver does."""
    prefix = request.match_info["tail"]
    served = _v3_documents(_fingerprint()).get(prefix)
    if served is None:
        raise not_found()
    asked = request.query.get("hash")
    if asked is not None and asked != served.hash:
        raise web.HTTPMovedPermanently(f"/openapi/v3/{prefix}?hash={served.hash}")
    return _send(request, served, immutable=asked is not None)


async def _v2_handler(request: web.Request) -> web.Response:
    """Protobuf when asked for (kubectl always is), JSON otherwise."""
    protobuf = "protobuf" in request.headers.get("Accept", "")
    return _send(request, _v2(_fingerprint(), protobuf))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/openapi/v2", _v2_handler)
    app.router.add_get("/openapi/v3", _root)
    app.router.add_get("/openapi/v3/{tail:.+}", _group_version)
