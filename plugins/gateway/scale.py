"""The ``scale`` subresource (autoscaling/v1 Scale) of every kind whose
strategy has one (deployments, replica sets, replication controllers, a
plugin's kind): what ``kubectl scale`` reads and patches, at the JSON paths
the strategy's :class:`shoal.strategy.ScaleSubresource` names."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from shoal import errors
from shoal.apiserver import decoding
from shoal.client import Client
from shoal.plugins.gateway import bodies
from shoal.plugins.gateway.jsonpatch import check_operations, json_patch
from shoal.plugins.gateway.objects import (
    JSON_PATCH,
    MERGE,
    STRATEGIC,
    dry_run,
    field_manager,
    merge,
)
from shoal.plugins.gateway.paths import Target
from shoal.plugins.gateway.status import StatusError, bad_request, not_found
from shoal.plugins.gateway.strategic import strategic_merge
from shoal.strategy import ScaleSubresource


def _subresource(target: Target) -> ScaleSubresource:
    scale = target.kind.strategy.scale
    if scale is None:
        raise not_found()
    return scale


def scale_of(paths: ScaleSubresource, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": paths.replicas(obj)},
        "status": {"replicas": paths.status_replicas(obj), "selector": paths.selector(obj)},
    }


class Scales:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def _current(self, target: Target) -> dict[str, Any]:
        _subresource(target)
        return bodies.to_json(await self.client.get(target.kind, target.name, target.namespace))

    async def get(self, request: web.Request, target: Target) -> web.Response:
        return bodies.respond(scale_of(_subresource(target), await self._current(target)))

    async def update(self, request: web.Request, target: Target) -> web.Response:
        scale = await bodies.read_json(request)
        name = ((scale or {}).get("metadata") or {}).get("name", target.name)
        if name != target.name:
            raise bad_request(
                f"the name of the object ({name}) does not match the name on the URL "
                f"({target.name})"
            )
        return await self._set(request, target, scale, pin=True)

    async def patch(self, request: web.Request, target: Target) -> web.Response:
        kind = request.content_type
        if kind not in (MERGE, STRATEGIC, JSON_PATCH):
            raise StatusError("UnsupportedMediaType", f"unsupported patch type {kind[:100]}")
        document = decoding.decode_json(await request.read(), "the patch")
        if kind == JSON_PATCH:
            check_operations(document)  # before the object is even read
        scale = scale_of(_subresource(target), await self._current(target))
        change = {MERGE: merge, STRATEGIC: strategic_merge, JSON_PATCH: json_patch}[kind]
        patched = change(scale, document)
        return await self._set(request, target, patched, pin=False)

    async def _set(
        self, request: web.Request, target: Target, scale: Any, *, pin: bool
    ) -> web.Response:
        replicas = _replicas(target, scale)
        paths = _subresource(target)
        patch = paths.replicas_patch(replicas)
        version = ((scale or {}).get("metadata") or {}).get("resourceVersion")
        if pin and version:  # a PUT of a Scale read earlier must not undo a newer change
            patch["metadata"] = {"resourceVersion": version}
        updated = await self.client.patch(
            target.kind, target.name, patch, target.namespace,
            dry_run=dry_run(request), field_manager=field_manager(request),
        )  # fmt: skip
        return bodies.respond(scale_of(paths, bodies.to_json(updated)))


def _replicas(target: Target, scale: Any) -> int:
    """spec.replicas of a Scale, refused as Kubernetes' ValidateScale does
    (an Invalid Status naming Scale.autoscaling, the object and the field)."""
    replicas = ((scale or {}).get("spec") or {}).get("replicas")
    if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas >= 0:
        return replicas
    if isinstance(replicas, int) and not isinstance(replicas, bool):
        cause = f"Invalid value: {replicas}: must be greater than or equal to 0"
    else:
        cause = f"Invalid value: {json.dumps(replicas)}: must be an integer"
    raise errors.invalid("Scale", target.name, [("spec.replicas", cause)], group="autoscaling")
