"""Binding a pod to a node, as Kubernetes' pods/binding does: one write sets
``spec.nodeName``, the ``PodScheduled=True`` condition and the Binding's
annotations (copied onto the pod, as Kubernetes does), and a pod already
bound refuses (ABORTED), so no pod is ever bound twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from shoal import errors, kinds
from shoal.apiserver import meta

Update = Callable[..., Awaitable[Any]]


def _invalid(binding: Any) -> list[tuple[str, str]]:
    causes = []
    if not binding.metadata.name:
        causes.append(("metadata.name", "Required value"))
    if not binding.target.name:
        causes.append(("target.name", "Required value"))
    if binding.target.kind not in ("", "Node"):
        causes.append(
            ("target.kind", f'Unsupported value: "{binding.target.kind}": supported values: "Node"')
        )
    return causes


def _scheduled(pod: Any) -> None:
    conditions = [c for c in pod.status.conditions if c.type != "PodScheduled"]
    del pod.status.conditions[:]
    pod.status.conditions.extend(conditions)
    pod.status.conditions.add(type="PodScheduled", status="True", last_transition_time=meta.now())


async def bind(update: Update, binding: Any, *, dry_run: bool, user: str) -> Any:
    """``update`` is ObjectRegistry._update: read, mutate, write if unchanged."""
    name, node = binding.metadata.name, binding.target.name
    causes = _invalid(binding)
    if causes:
        raise errors.invalid("Binding", name, causes)

    def assign(pod: Any) -> Any:
        if pod.spec.node_name:
            raise errors.ConflictError(
                f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is '
                f'already assigned to node "{pod.spec.node_name}"',
                name=name,
                kind="pods/binding",
            )
        if binding.metadata.uid and binding.metadata.uid != pod.metadata.uid:
            raise errors.ConflictError(
                f'pods "{name}": the uid in the binding does not match', name=name, kind="pods"
            )
        if pod.metadata.HasField("deletion_timestamp"):
            raise errors.ConflictError(f'pods "{name}" is being deleted', name=name, kind="pods")
        pod.spec.node_name = node
        for key, value in binding.metadata.annotations.items():  # as Kubernetes' assignPod
            pod.metadata.annotations[key] = value
        _scheduled(pod)
        return pod

    await update(
        kinds.resolve("Pod"),
        binding.metadata.namespace,
        name,
        assign,
        binding.metadata.resource_version,
        dry_run=dry_run,
        user=user,
    )
    return binding
