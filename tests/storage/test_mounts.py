"""The agent's side of a claim volume: from claim to volume to node path,
and read-only claims mounted read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shoal.agent.env import ContainerConfigError
from shoal.agent.volumes import claimed_path, container_mounts, read_only_volumes
from shoal.manifest import from_dict

from tests.storage.test_kinds import claim, volume


def lookup_of(*objects: Any) -> Any:
    """A Lookup over these objects (what the agent reads through the API)."""
    found = {(type(o).__name__, o.metadata.name): o for o in objects}

    async def lookup(kind: str, name: str) -> Any | None:
        return found.get((kind, name))

    return lookup


async def test_claim_resolves_to_its_volumes_path(tmp_path: Path) -> None:
    pvc = claim("data")
    with pytest.raises(ContainerConfigError, match='persistentvolumeclaim "data" is not bound'):
        await claimed_path(lookup_of(pvc), "data")
    with pytest.raises(ContainerConfigError, match='persistentvolumeclaim "other" not found'):
        await claimed_path(lookup_of(pvc), "other")
    pvc.spec.volume_name = "pv1"
    with pytest.raises(ContainerConfigError, match='persistentvolume "pv1" not found'):
        await claimed_path(lookup_of(pvc), "data")
    pv = volume("pv1", path=str(tmp_path / "made"))
    assert await claimed_path(lookup_of(pvc, pv), "data") == str(tmp_path / "made")
    assert (tmp_path / "made").is_dir()  # a hostPath volume's directory is made, as a pod's is
    local = volume("pv1")
    local.spec.ClearField("host_path")
    local.spec.local.path = str(tmp_path / "absent")
    with pytest.raises(ContainerConfigError, match="does not exist on this node"):
        await claimed_path(lookup_of(pvc, local), "data")


def test_read_only_claim_mounts_read_only() -> None:
    pod = from_dict({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox", "volumeMounts": [
                {"name": "ro", "mountPath": "/ro"}, {"name": "rw", "mountPath": "/rw"}]}],
            "volumes": [
                {"name": "ro", "persistentVolumeClaim": {"claimName": "a", "readOnly": True}},
                {"name": "rw", "persistentVolumeClaim": {"claimName": "b"}},
            ],
        },
    })  # fmt: skip
    mounts = container_mounts(
        pod.spec.containers[0], {"ro": "/x", "rw": "/y"}, read_only_volumes(pod)
    )
    assert [(m.container_path, m.read_only) for m in mounts] == [("/ro", True), ("/rw", False)]
