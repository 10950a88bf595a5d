"""The PersistentVolume controller, as Kubernetes' ``persistentvolume-binder``
and the ``pvc-protection`` / ``pv-protection`` controllers:

- binds a claim to the smallest Available volume that suits it (class,
  access modes, capacity, volume mode, selector), or to a volume pre-bound
  to it (``spec.claimRef``: by an administrator, by the scheduler for
  ``WaitForFirstConsumer`` claims, by a provisioner); sets the phases
  (volumes Pending, Available, Bound, Released, Failed; claims Pending,
  Bound, Lost) and the claim's capacity and access modes;
- once a bound claim is gone, releases its volume and reclaims it: Retain
  keeps it Released, Delete deletes it (a volume that a node-local
  provisioner made, ``pv.kubernetes.io/provisioned-by:
  shoal.dev/local-path``, is deleted by that node's agent, which also
  removes the data);
- removes ``kubernetes.io/pvc-protection`` from a deleted claim once no pod
  that may run uses it, and ``kubernetes.io/pv-protection`` from a deleted
  volume once it is not Bound.

Claims of a ``WaitForFirstConsumer`` class wait for the scheduler, which
annotates them ``volume.kubernetes.io/selected-node`` (dynamic
provisioning) or pre-binds a volume (static).
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from shoal import clock, errors, hookimpl
from shoal.client import object_key
from shoal.controller import Controller
from shoal.plugins.controllers import pvutil
from shoal.plugins.kinds.storage import PV_PROTECTION, PVC_PROTECTION
from shoal.registry import Registry

log = structlog.get_logger("persistentvolume")

CLAIM, VOLUME = "PersistentVolumeClaim", "PersistentVolume"


def _copy(obj: Any) -> Any:
    new = type(obj)()
    new.CopyFrom(obj)
    return new


def _deleting(obj: Any) -> bool:
    return bool(obj.metadata.HasField("deletion_timestamp"))


class PersistentVolumeController(Controller):
    name = "persistentvolume-binder"
    workers = 2

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        super().__init__(client, workers=workers)
        self.claims = self.watch(CLAIM, key=lambda c: (CLAIM, object_key(c)))
        self.volumes = self.watch(VOLUME, key=lambda v: (VOLUME, v.metadata.name))
        self.classes = self.informer("StorageClass")
        self.pods = self.informer("Pod")
        self.pods.add_handler(self._pod_changed, lambda _o, new: self._pod_changed(new),
                              self._pod_changed)  # fmt: skip
        self.volumes.add_handler(
            self._volume_claim, lambda _o, new: self._volume_claim(new), self._volume_claim
        )
        self.claims.add_handler(None, lambda _o, new: self._claim_volume(new), self._claim_volume)

    def _pod_changed(self, pod: Any) -> None:
        for name in pvutil.pod_claims(pod):
            self.queue.add((CLAIM, f"{pod.metadata.namespace}/{name}"))

    def _volume_claim(self, pv: Any) -> None:
        ref = pv.spec.claim_ref
        if ref.name:
            self.queue.add((CLAIM, f"{ref.namespace}/{ref.name}"))

    def _claim_volume(self, claim: Any) -> None:
        if claim.spec.volume_name:  # a claim gone releases its volume
            self.queue.add((VOLUME, claim.spec.volume_name))

    async def reconcile(self, key: Any) -> float | None:
        kind, name = key
        if kind == CLAIM:
            namespace, _, name = name.partition("/")
            claim = self.claims.get(name, namespace)
            if claim is not None:
                await self._sync_claim(claim)
        else:
            pv = self.volumes.get(name)
            if pv is not None:
                await self._sync_volume(pv)
        return None

    # -- claims ----------------------------------------------------------------

    async def _sync_claim(self, claim: Any) -> None:
        if _deleting(claim):
            await self._unprotect_claim(claim)
            if not claim.spec.volume_name:
                return  # no new binding for a claim on its way out
        if not claim.spec.volume_name:
            await self._bind_unbound(claim)
            return
        pv = self.volumes.get(claim.spec.volume_name)
        if pv is None:
            if claim.status.phase == "Bound":
                await self._claim_phase(claim, "Lost")
                self.recorder.emit(claim, "Warning", "ClaimLost",
                                   "Bound claim has lost reference to PersistentVolume. "
                                   "Data on the volume is lost!")  # fmt: skip
            return
        if not pv.spec.HasField("claim_ref") and pvutil.suits(pv, claim):
            await self._bind(pv, claim)  # the user named the volume
        elif pvutil.claim_ref_matches(pv, claim):
            await self._bind(pv, claim)  # completes a half-done binding
            await self._expand(pv, claim)
        elif claim.status.phase != "Lost":
            self.recorder.emit(claim, "Warning", "FailedBinding",
                               "volume is already bound to another claim")  # fmt: skip

    def _storage_class(self, claim: Any) -> Any | None:
        name = pvutil.claim_class(claim)
        return self.classes.get(name) if name else None

    async def _bind_unbound(self, claim: Any) -> None:
        sc = self._storage_class(claim)
        waits = sc is not None and sc.volume_binding_mode == pvutil.WAIT_FOR_FIRST_CONSUMER
        volumes = self.volumes.list()
        if waits:
            # only a volume the scheduler (or a provisioner) pre-bound to it
            volumes = [pv for pv in volumes if pv.spec.HasField("claim_ref")]
        pv = pvutil.best_volume(claim, volumes)
        if pv is not None:
            await self._bind(pv, claim)
            return
        if waits and pvutil.SELECTED_NODE not in claim.metadata.annotations:
            node = self._consumer_node(claim)
            if node:  # a pod bound to a node without the scheduler (spec.nodeName)
                new = _copy(claim)
                new.metadata.annotations[pvutil.SELECTED_NODE] = node
                await self.client.update(new)
                return
            message = "waiting for first consumer to be created before binding"
            self.recorder.emit(claim, "Normal", "WaitForFirstConsumer", message)
        elif sc is not None and sc.provisioner != pvutil.NO_PROVISIONER:
            await self._ask_provisioner(claim, sc.provisioner)
        else:
            self.recorder.emit(claim, "Normal", "FailedBinding",
                               "no persistent volumes available for this claim and no "
                               "storage class is set")  # fmt: skip

    def _consumer_node(self, claim: Any) -> str:
        m = claim.metadata
        for pod in self.pods.by_index("namespace", m.namespace):
            if pod.spec.node_name and m.name in pvutil.pod_claims(pod):
                return str(pod.spec.node_name)
        return ""

    async def _ask_provisioner(self, claim: Any, provisioner: str) -> None:
        if claim.metadata.annotations.get(pvutil.STORAGE_PROVISIONER) != provisioner:
            new = _copy(claim)
            new.metadata.annotations[pvutil.STORAGE_PROVISIONER] = provisioner
            new.metadata.annotations[pvutil.BETA_STORAGE_PROVISIONER] = provisioner
            await self.client.update(new)
        self.recorder.emit(claim, "Normal", "ExternalProvisioning",
                           f'Waiting for a volume to be created either by the external '
                           f'provisioner \'{provisioner}\' or manually by the system '
                           f'administrator.')  # fmt: skip

    async def _bind(self, pv: Any, claim: Any) -> None:
        """Volume first (claimRef, then Bound), then the claim (volumeName,
        then Bound with the volume's capacity): each step is retried from
        where it stopped."""
        m = claim.metadata
        ref = pv.spec.claim_ref
        if (ref.name, ref.namespace, ref.uid) != (m.name, m.namespace, m.uid):
            new = _copy(pv)
            if not pv.spec.HasField("claim_ref"):
                new.metadata.annotations[pvutil.BOUND_BY_CONTROLLER] = "yes"
            r = new.spec.claim_ref
            r.kind, r.api_version, r.namespace, r.name = CLAIM, "v1", m.namespace, m.name
            r.uid, r.resource_version = m.uid, m.resource_version
            pv = await self.client.update(new)
        if pv.status.phase != "Bound":
            pv = await self._volume_phase(pv, "Bound")
        if claim.spec.volume_name != pv.metadata.name or (
            claim.metadata.annotations.get(pvutil.BIND_COMPLETED) != "yes"
        ):
            new = _copy(claim)
            new.spec.volume_name = pv.metadata.name
            new.metadata.annotations[pvutil.BIND_COMPLETED] = "yes"
            if not claim.spec.volume_name:
                new.metadata.annotations[pvutil.BOUND_BY_CONTROLLER] = "yes"
            claim = await self.client.update(new)
        status = claim.status
        if (
            status.phase != "Bound"
            or dict(status.capacity) != dict(pv.spec.capacity)
            or list(status.access_modes) != list(pv.spec.access_modes)
        ):
            new = _copy(claim)
            new.status.phase = "Bound"
            new.status.access_modes[:] = list(pv.spec.access_modes)
            new.status.capacity.clear()
            new.status.capacity.update(dict(pv.spec.capacity))
            await self.client.update_status(new)
            log.info("bound", claim=object_key(claim), volume=pv.metadata.name)

    async def _expand(self, pv: Any, claim: Any) -> None:
        """A bound local-path claim that asks for more gets it at once: a
        directory has no size to change, only the recorded capacity."""
        want = pvutil.storage_amount(claim.spec.resources.requests)
        if want <= pvutil.storage_amount(pv.spec.capacity):
            return
        if pv.metadata.annotations.get(pvutil.PROVISIONED_BY) != pvutil.LOCAL_PROVISIONER:
            return
        request = claim.spec.resources.requests["storage"]
        new = _copy(pv)
        new.spec.capacity["storage"] = request
        await self.client.update(new)
        fresh = _copy(await self.client.get(CLAIM, claim.metadata.name, claim.metadata.namespace))
        fresh.status.capacity["storage"] = request
        await self.client.update_status(fresh)
        self.recorder.emit(claim, "Normal", "VolumeResizeSuccessful",
                           f"resize volume {pv.metadata.name} to {request} succeeded")  # fmt: skip

    async def _claim_phase(self, claim: Any, phase: str) -> Any:
        new = _copy(claim)
        new.status.phase = phase
        return await self.client.update_status(new)

    async def _unprotect_claim(self, claim: Any) -> None:
        if PVC_PROTECTION not in claim.metadata.finalizers:
            return
        m = claim.metadata
        for pod in self.pods.by_index("namespace", m.namespace):
            if m.name in pvutil.pod_claims(pod) and pvutil.pod_holds_claims(pod):
                return  # the pod's deletion enqueues the claim again
        new = _copy(claim)
        new.metadata.finalizers.remove(PVC_PROTECTION)
        with contextlib.suppress(errors.NotFoundError):
            await self.client.update(new)

    # -- volumes -----------------------------------------------------------------

    async def _volume_phase(self, pv: Any, phase: str) -> Any:
        new = _copy(pv)
        new.status.phase = phase
        new.status.last_phase_transition_time.CopyFrom(clock.now_stamp())
        return await self.client.update_status(new)

    async def _sync_volume(self, pv: Any) -> None:
        if _deleting(pv) and pv.status.phase != "Bound":
            if PV_PROTECTION in pv.metadata.finalizers:
                new = _copy(pv)
                new.metadata.finalizers.remove(PV_PROTECTION)
                with contextlib.suppress(errors.NotFoundError):
                    await self.client.update(new)
            return
        ref = pv.spec.claim_ref
        if not pv.spec.HasField("claim_ref"):
            if pv.status.phase in ("", "Pending", "Released"):
                await self._volume_phase(pv, "Available")
            return
        claim = self.claims.get(ref.name, ref.namespace)
        if claim is not None and (not ref.uid or ref.uid == claim.metadata.uid):
            if not ref.uid and pv.status.phase in ("", "Pending"):
                await self._volume_phase(pv, "Available")  # pre-bound, waits for its claim
            return  # the claim's sync binds them
        if not ref.uid:
            if pv.status.phase in ("", "Pending"):
                await self._volume_phase(pv, "Available")
            return
        await self._reclaim(pv)

    async def _reclaim(self, pv: Any) -> None:
        """The volume's claim is gone."""
        if pv.status.phase not in ("Released", "Failed"):
            pv = await self._volume_phase(pv, "Released")
        policy = pv.spec.persistent_volume_reclaim_policy
        if policy == "Delete":
            if pv.metadata.annotations.get(pvutil.PROVISIONED_BY) == pvutil.LOCAL_PROVISIONER:
                return  # its node's agent removes the data, then the volume
            with contextlib.suppress(errors.NotFoundError):
                await self.client.delete(VOLUME, pv.metadata.name)
        elif policy == "Recycle" and pv.status.phase != "Failed":
            new = _copy(pv)
            new.status.phase, new.status.reason = "Failed", "VolumeFailedRecycle"
            new.status.message = "Recycle is deprecated and not supported by shoal"
            await self.client.update_status(new)


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("persistentvolume-binder", PersistentVolumeController)
