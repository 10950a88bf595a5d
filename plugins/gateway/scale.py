"""The ``scale`` subresource (autoscaling/v1 Scale) of deployments, replica
sets and replication controllers: what ``kubectl scale`` reads and patches."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from shoal.apiserver import decoding
from shoal.client import Client
from shoal.kinds import Kind
from shoal.plugins.gateway import bodies
from shoal.plugins.gateway.objects import MERGE, STRATEGIC, dry_run, field_manager, merge
from shoal.plugins.gateway.paths import Target
from shoal.plugins.gateway.status import StatusError, not_found
from shoal.plugins.gateway.strategic import strategic_merge

SCALABLE = {"Deployment", "ReplicaSet", "ReplicationController"}


def _at(obj: Any, path: str) -> Any:
    """The value at a simple JSON path (``.spec.replicas``), or None."""
    for step in filter(None, path.split(".")):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(step)
    return obj


def _nested(path: str, value: Any) -> dict[str, Any]:
    """``{"spec": {"replicas": value}}`` for ``.spec.replicas``."""
    steps = [s for s in path.split(".") if s]
    out: Any = value
    for step in reversed(steps):
        out = {step: out}
    return out  # type: ignore[no-any-return]


def _custom(kind: Kind | None) -> bool:
    """A kind whose strategy says where its replicas are (a CRD's scale)."""
    return kind is not None and kind.kind not in SCALABLE and kind.strategy.scale is not None


def scale_of(obj: dict[str, Any], kind: Kind | None = None) -> dict[str, Any]:
    if kind is not None and _custom(kind):
        return _custom_scale(obj, kind)
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


def _custom_scale(obj: dict[str, Any], kind: Kind) -> dict[str, Any]:
    paths = kind.strategy.scale
    assert paths is not None
    meta = obj["metadata"]
    selector = _at(obj, paths.label_selector_path) if paths.label_selector_path else None
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": _at(obj, paths.spec_replicas_path) or 0},
        "status": {
            "replicas": _at(obj, paths.status_replicas_path) or 0,
            "selector": selector if isinstance(selector, str) else "",
        },
    }


class Scales:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def _current(self, target: Target) -> dict[str, Any]:
        if target.kind.kind not in SCALABLE and target.kind.strategy.scale is None:
            raise not_found()
        return bodies.to_json(await self.client.get(target.kind, target.name, target.namespace))

    async def get(self, request: web.Request, target: Target) -> web.Response:
        return bodies.respond(scale_of(await self._current(target), target.kind))

    async def update(self, request: web.Request, target: Target) -> web.Response:
        scale = await bodies.read_json(request)
        return await self._set(request, target, scale, pin=True)

    async def patch(self, request: web.Request, target: Target) -> web.Response:
        if request.content_type not in (MERGE, STRATEGIC):
            raise StatusError(
                "UnsupportedMediaType", f"unsupported patch type {request.content_type[:100]}"
            )
        document = decoding.decode_json(await request.read(), "the patch")
        scale = scale_of(await self._current(target), target.kind)
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
        paths = target.kind.strategy.scale
        spec_path = paths.spec_replicas_path if _custom(target.kind) and paths else ".spec.replicas"
        patch: dict[str, Any] = _nested(spec_path, replicas)
        version = ((scale or {}).get("metadata") or {}).get("resourceVersion")
        if pin and version:  # a PUT of a Scale read earlier must not undo a newer change
            patch["metadata"] = {"resourceVersion": version}
        updated = await self.client.patch(
            target.kind, target.name, patch, target.namespace,
            dry_run=dry_run(request), field_manager=field_manager(request),
        )  # fmt: skip
        return bodies.respond(scale_of(bodies.to_json(updated), target.kind))
