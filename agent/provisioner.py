"""The local volume provisioner (``shoal.dev/local-path``), run by each agent
for its own nodes, like Rancher's local-path-provisioner that minikube and
kind ship.

A claim of a class with this provisioner, once the scheduler picked a node
for its first pod (``volume.kubernetes.io/selected-node``), gets a directory
``<data-dir>/persistentvolumes/pvc-<claim uid>`` on that node and a
PersistentVolume for it: ``spec.local.path`` the directory,
``capacity.storage`` the claim's request, the class's reclaim policy, node
affinity to that node (so the claim's later pods land there too) and
``claimRef`` the claim (the PV controller completes the binding). The size
is recorded, not enforced: a directory has no quota.

When such a volume is Released with reclaim policy Delete, the agent
removes its directory, then the PersistentVolume.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path
from typing import Any

import structlog
from shoal import errors
from shoal.api.v1 import core_pb2
from shoal.apiserver.node_authorizer import volume_node
from shoal.client import object_key
from shoal.controller import Controller
from shoal.plugins.controllers import pvutil

log = structlog.get_logger("provisioner")

CLAIM, VOLUME = "PersistentVolumeClaim", "PersistentVolume"
VOLUMES_DIR = "persistentvolumes"


def volume_dir(node_dir: Path, pv_name: str) -> Path:
    return node_dir / VOLUMES_DIR / pv_name


def provisioned_volume(claim: Any, sc: Any, node: str, path: Path) -> Any:
    m = claim.metadata
    pv = core_pb2.PersistentVolume()
    pv.metadata.name = f"pvc-{m.uid}"
    pv.metadata.annotations[pvutil.PROVISIONED_BY] = pvutil.LOCAL_PROVISIONER
    spec = pv.spec
    spec.capacity["storage"] = claim.spec.resources.requests["storage"]
    spec.access_modes.extend(claim.spec.access_modes)
    spec.persistent_volume_reclaim_policy = sc.reclaim_policy or "Delete"
    spec.storage_class_name = sc.metadata.name
    spec.mount_options.extend(sc.mount_options)
    spec.volume_mode = claim.spec.volume_mode or "Filesystem"
    spec.local.path = str(path)
    term = spec.node_affinity.required.node_selector_terms.add()
    term.match_expressions.add(key=pvutil.HOSTNAME_LABEL, operator="In", values=[node])
    ref = spec.claim_ref
    ref.kind, ref.api_version, ref.namespace, ref.name = CLAIM, "v1", m.namespace, m.name
    ref.uid, ref.resource_version = m.uid, m.resource_version
    return pv


class LocalProvisioner(Controller):
    name = "local-path-provisioner"
    workers = 2

    def __init__(self, client: Any, node_dirs: dict[str, Path]) -> None:
        super().__init__(client)
        self.node_dirs = node_dirs
        self.claims = self.watch(CLAIM, key=lambda c: (CLAIM, object_key(c)))
        self.volumes = self.watch(VOLUME, key=lambda v: (VOLUME, v.metadata.name))
        self.classes = self.informer("StorageClass")

    async def reconcile(self, key: Any) -> float | None:
        kind, name = key
        if kind == CLAIM:
            namespace, _, name = name.partition("/")
            claim = self.claims.get(name, namespace)
            if claim is not None:
                await self._provision(claim)
        else:
            pv = self.volumes.get(name)
            if pv is not None:
                await self._delete(pv)
        return None

    async def _provision(self, claim: Any) -> None:
        node = claim.metadata.annotations.get(pvutil.SELECTED_NODE, "")
        if node not in self.node_dirs or claim.spec.volume_name:
            return
        if claim.metadata.HasField("deletion_timestamp"):
            return
        sc = self.classes.get(pvutil.claim_class(claim))
        if sc is None or sc.provisioner != pvutil.LOCAL_PROVISIONER:
            return
        name = f"pvc-{claim.metadata.uid}"
        if self.volumes.get(name) is not None:
            return
        path = volume_dir(self.node_dirs[node], name)
        await asyncio.to_thread(_make_dir, path)
        with contextlib.suppress(errors.AlreadyExistsError):
            await self.client.create(provisioned_volume(claim, sc, node, path))
            log.info("provisioned", claim=object_key(claim), volume=name, path=str(path))
            self.recorder.emit(claim, "Normal", "ProvisioningSucceeded",
                               f"Successfully provisioned volume {name}")  # fmt: skip

    async def _delete(self, pv: Any) -> None:
        if pv.metadata.annotations.get(pvutil.PROVISIONED_BY) != pvutil.LOCAL_PROVISIONER:
            return
        node = volume_node(pv)
        if node not in self.node_dirs:
            return
        if pv.status.phase != "Released" or pv.spec.persistent_volume_reclaim_policy != "Delete":
            return
        path = Path(pv.spec.local.path)
        if path != volume_dir(self.node_dirs[node], pv.metadata.name):
            log.warning("not removing a path outside the volumes directory", path=str(path))
            return
        await asyncio.to_thread(shutil.rmtree, path, True)
        with contextlib.suppress(errors.NotFoundError):
            await self.client.delete(VOLUME, pv.metadata.name)
            log.info("deleted", volume=pv.metadata.name, path=str(path))


def _make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)  # any user a container runs as may write, as local-path does
