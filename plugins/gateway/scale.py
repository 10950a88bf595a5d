"""The ``scale`` subresource (autoscaling/v1 Scale) of the kinds whose
strategy has one (deployments, replica sets, replication controllers,
stateful sets): what ``kubectl scale`` reads and patches."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from shoal.apiserver import decoding
from shoal.client import Client
from shoal.plugins.gateway import bodies
from shoal.plugins.gateway.objects import MERGE, STRATEGIC, dry_run, field_manager, merge
from shoal.plugins.gateway.paths import Target
from shoal.plugins.gateway.status import StatusError, not_found
from shoal.plugins.gateway.strategic import strategic_merge


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    selector = spec.get("selector") or {}
    labels = (
        selector.get("matchLabels", selector)
        if obj["kind"] != "ReplicationController"
        else selector
    )
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())),
        },
    }


class Scales:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def _current(self, target: Target) -> dict[str, Any]:
        if target.kind.strategy.scale is None:
            raise not_found()
        return bodies.to_json(await self.client.get(target.kind, target.name, target.namespace))

    async def get(self, request: web.Request, target: Target) -> web.Response:
        return bodies.respond(scale_of(await self._current(target)))

    async def update(self, request: web.Request, target: Target) -> web.Response:
        scale = await bodies.read_json(request)
        return await self._set(request, target, scale, pin=True)

    async def patch(self, request: web.Request, target: Target) -> web.Response:
        if request.content_type not in (MERGE, STRATEGIC):
            raise StatusError(
                "UnsupportedMediaType", f"unsupported patch type {request.content_type[:100]}"
            )
        document = decoding.decode_json(await request.read(), "the patch")
        scale = scale_of(await self._current(target))
        patched = (
            merge(scale, document)
            if request.content_type == MERGE
            else strategic_merge(scale, document)
        )
        return await self._set(request, target, patched, pin=False)

    async def _set(
        self, request: web.Request, target: Target, scale: Any, *, pin: bool
    ) -> web.Response:
        replicas = ((scale or {}).get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise StatusError(
                "Invalid",
                f'Scale.autoscaling "{target.name}" is invalid: spec.replicas: '
                "must be greater than or equal to 0",
                {"causes": [{"field": "spec.replicas", "reason": "FieldValueInvalid"}]},
            )
        patch: dict[str, Any] = {"spec": {"replicas": replicas}}
        version = ((scale or {}).get("metadata") or {}).get("resourceVersion")
        if pin and version:  # a PUT of a Scale read earlier must not undo a newer change
            patch["metadata"] = {"resourceVersion": version}
        updated = await self.client.patch(
            target.kind, target.name, patch, target.namespace,
            dry_run=dry_run(request), field_manager=field_manager(request),
        )  # fmt: skip
        return bodies.respond(scale_of(bodies.to_json(updated)))
