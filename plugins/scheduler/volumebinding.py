"""VolumeBinding, as Kubernetes' scheduler plugin of that name: a pod's
PersistentVolumeClaims decide where it may run.

- pre-filter: every claim must exist; an unbound claim of an ``Immediate``
  class (or of none) makes the pod wait for the PV controller.
- filter: a bound claim's volume must be reachable from the node (its
  ``nodeAffinity``); an unbound ``WaitForFirstConsumer`` claim needs, on
  the node, an Available volume that suits it, or a class whose provisioner
  makes one.
- pre-bind: for each unbound ``WaitForFirstConsumer`` claim, pre-bind the
  chosen volume (static) or annotate the claim
  ``volume.kubernetes.io/selected-node`` (dynamic: the node's provisioner
  makes the volume), then wait until the PV controller has bound every
  claim, so the pod starts with its volumes.

It reads claims, volumes and classes from informers the scheduler runs for
it (``watch_kinds``) and writes through the scheduler's client; both reach
it in the cycle state (``state["informers"]``, ``state["client"]``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from shoal import clock
from shoal.plugins.controllers import pvutil
from shoal.plugins.scheduler.cache import NodeInfo
from shoal.plugins.scheduler.matching import node_selector_matches
from shoal.scheduling import Status

CLAIM, VOLUME, CLASS = "PersistentVolumeClaim", "PersistentVolume", "StorageClass"
STATE = "VolumeBinding"
BIND_TIMEOUT = 600.0  # Kubernetes' bindTimeoutSeconds
CONFLICT = "node(s) had volume node affinity conflict"
NO_VOLUME = "node(s) didn't find available persistent volumes to bind"


def _reachable(pv: Any, node: Any) -> bool:
    if not pv.spec.node_affinity.HasField("required"):
        return True
    return node_selector_matches(pv.spec.node_affinity.required, node)


class _Claims:
    """The pod's claims sorted out at pre-filter."""

    def __init__(self) -> None:
        self.bound: list[Any] = []  # volumes of bound claims
        self.static: list[Any] = []  # unbound claims that need an existing volume
        self.dynamic: list[Any] = []  # unbound claims a provisioner serves
        self.namespace = ""


class VolumeBinding:
    watch_kinds = (CLAIM, VOLUME, CLASS)

    def pre_filter(self, pod: Any, state: dict[str, Any]) -> Status | bool:
        names = pvutil.pod_claims(pod)
        if not names:
            return Status.skip()
        informers = state.get("informers") or {}
        if CLAIM not in informers:
            return Status.error("VolumeBinding: the scheduler runs no claim informers")
        claims, volumes, classes = (informers[k] for k in (CLAIM, VOLUME, CLASS))
        found = _Claims()
        found.namespace = pod.metadata.namespace
        for name in names:
            claim = claims.get(name, pod.metadata.namespace)
            if claim is None:
                return Status.unschedulable(f'persistentvolumeclaim "{name}" not found')
            if claim.metadata.HasField("deletion_timestamp"):
                return Status.unschedulable(f'persistentvolumeclaim "{name}" is being deleted')
            if claim.spec.volume_name:
                pv = volumes.get(claim.spec.volume_name)
                if pv is None:
                    return Status.unschedulable(
                        f'persistentvolume "{claim.spec.volume_name}" not found'
                    )
                found.bound.append(pv)
                continue
            sc = classes.get(pvutil.claim_class(claim)) if pvutil.claim_class(claim) else None
            if sc is None or sc.volume_binding_mode != pvutil.WAIT_FOR_FIRST_CONSUMER:
                return Status.unschedulable("pod has unbound immediate PersistentVolumeClaims")
            if sc.provisioner == pvutil.NO_PROVISIONER:
                found.static.append(claim)
            else:
                found.dynamic.append(claim)
        state[STATE] = found
        return True

    def filter(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> str | None:
        found: _Claims = state[STATE]
        if any(not _reachable(pv, node) for pv in found.bound):
            return CONFLICT
        if found.static:
            volumes = state["informers"][VOLUME].list()
            if self._choose(found.static, volumes, node) is None:
                return NO_VOLUME
        return None

    @staticmethod
    def _choose(claims: list[Any], volumes: list[Any], node: Any) -> dict[str, Any] | None:
        """A distinct suitable volume on the node for each claim, or None."""
        chosen: dict[str, Any] = {}
        for claim in claims:
            taken = {pv.metadata.name for pv in chosen.values()}
            free = [v for v in volumes if v.metadata.name not in taken]
            pv = pvutil.best_volume(claim, free, lambda v: _reachable(v, node))
            if pv is None:
                return None
            chosen[claim.metadata.name] = pv
        return chosen

    async def pre_bind(self, pod: Any, node: str, state: dict[str, Any]) -> Status | None:
        found: _Claims | None = state.get(STATE)
        if found is None or not (found.static or found.dynamic):
            return None
        client, informers = state["client"], state["informers"]
        info = state["cache"].nodes.get(node)
        if found.static:
            chosen = self._choose(found.static, informers[VOLUME].list(), info)
            if chosen is None:
                return Status.unschedulable(NO_VOLUME)
            for claim in found.static:
                await _pre_bind(client, chosen[claim.metadata.name], claim)
        for claim in found.dynamic:
            if claim.metadata.annotations.get(pvutil.SELECTED_NODE) != node:
                new = type(claim)()
                new.CopyFrom(claim)
                new.metadata.annotations[pvutil.SELECTED_NODE] = node
                await client.update(new)
        names = [c.metadata.name for c in (*found.static, *found.dynamic)]
        return await _wait_bound(informers[CLAIM], found.namespace, names)


async def _pre_bind(client: Any, pv: Any, claim: Any) -> None:
    if pv.spec.HasField("claim_ref"):
        return  # already pre-bound to this claim
    new = type(pv)()
    new.CopyFrom(pv)
    m = claim.metadata
    ref = new.spec.claim_ref
    ref.kind, ref.api_version, ref.namespace, ref.name = CLAIM, "v1", m.namespace, m.name
    ref.uid, ref.resource_version = m.uid, m.resource_version
    new.metadata.annotations[pvutil.BOUND_BY_CONTROLLER] = "yes"
    await client.update(new)


async def _wait_bound(claims: Any, namespace: str, names: list[str]) -> Status | None:
    """Until the PV controller bound every claim (Kubernetes waits as long)."""
    deadline = clock.monotonic() + BIND_TIMEOUT
    while clock.monotonic() < deadline:
        current = [claims.get(name, namespace) for name in names]
        if any(c is None for c in current):
            return Status.unschedulable("a PersistentVolumeClaim went away while binding")
        if all(c.spec.volume_name and c.status.phase == "Bound" for c in current):
            return None
        await asyncio.sleep(0.1)
    return Status.error("binding volumes: timed out waiting for the condition")
