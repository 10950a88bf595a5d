"""``shoal`` with the storage kinds: apply Kubernetes' task manifests, get
them by short names."""

from __future__ import annotations

from pathlib import Path

from tests.ctl.conftest import Shoal, shoal

__all__ = ["shoal"]
MANIFESTS = Path(__file__).parent.parent / "manifests"


async def test_apply_and_get_by_short_names(shoal: Shoal) -> None:
    for name in ("persistentvolume", "persistentvolumeclaim", "storageclass"):
        applied = await shoal("apply", "-f", str(MANIFESTS / f"{name}.yaml"))
        assert applied.code == 0, applied.err
    got = await shoal("get", "pv,pvc,sc", "-o", "name")
    assert got.code == 0, got.err
    assert got.out.split() == [
        "persistentvolume/task-pv-volume",
        "persistentvolumeclaim/task-pv-claim",
        "storageclass.storage.k8s.io/local-storage",
        "storageclass.storage.k8s.io/standard",
    ]
    table = await shoal("get", "pvc,sc")
    lines = [line.split() for line in table.out.splitlines() if line.strip()]
    assert lines[0] == [
        "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS", "AGE",
    ]  # fmt: skip
    assert lines[1][:4] == ["persistentvolumeclaim/task-pv-claim", "Pending", "manual", "<unset>"]
    assert lines[2][:5] == [
        "NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION"
    ]  # fmt: skip
    assert lines[3][:3] == [
        "storageclass.storage.k8s.io/local-storage", "kubernetes.io/no-provisioner", "Delete"
    ]  # fmt: skip
    assert lines[4][:3] == [
        "storageclass.storage.k8s.io/standard", "(default)", "shoal.dev/local-path"
    ]  # fmt: skip
    bad = await shoal("apply", "-f", "-", input="apiVersion: v1\nkind: PersistentVolumeClaim\n"
                      "metadata: {name: bad}\nspec: {accessModes: [ReadWriteOnce]}\n")  # fmt: skip
    assert bad.code != 0
    assert "spec.resources.requests[storage]: Required value" in bad.err
