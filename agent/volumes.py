"""Pod volumes as directories on the node, under
``<data-dir>/pods/<uid>/volumes/<name>``: emptyDir is an empty directory
shared by the pod's containers, configMap and secret are files (one per key,
or per ``items`` entry), downwardAPI and projected are files too
(``shoal.agent.projected``: the service-account token among them), hostPath
is the node's own path, and persistentVolumeClaim the path of the volume
bound to the claim (a ``local`` or ``hostPath`` PersistentVolume on this
node: see ``shoal.agent.provisioner``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from shoal.agent.env import ContainerConfigError, Lookup
from shoal.agent.projected import Tokens, downward_files, projected_files
from shoal.runtime import Mount


def pod_dir(data_dir: Path, uid: str) -> Path:
    return data_dir / "pods" / uid


def remove_pod_dir(data_dir: Path, uid: str) -> None:
    shutil.rmtree(pod_dir(data_dir, uid), ignore_errors=True)


def _write_files(root: Path, files: dict[str, bytes], mode: int) -> None:
    """Replace the directory's contents, each file whole (no half-written key)."""
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        if old.name not in files and old.is_file():
            old.unlink()
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _select(data: dict[str, bytes], source: Any, what: str, name: str) -> dict[str, bytes]:
    if not source.items:
        return data
    files = {}
    for item in source.items:
        if item.key not in data:
            raise ContainerConfigError(f'couldn\'t find key {item.key} in {what} "{name}"')
        files[item.path] = data[item.key]
    return files


async def _object_files(lookup: Lookup, what: str, name: str, source: Any) -> dict[str, bytes]:
    obj = await lookup(what, name)
    if obj is None:
        if source.HasField("optional") and source.optional:
            return {}
        raise ContainerConfigError(f'{what.lower()} "{name}" not found')
    data = {k: _as_bytes(v) for k, v in obj.data.items()}
    if what == "ConfigMap":
        data.update({k: bytes(v) for k, v in obj.binary_data.items()})
    return _select(data, source, what, name)


async def claimed_path(lookup: Lookup, claim_name: str) -> str:
    """The node path of the volume bound to the claim; ContainerConfigError
    (the container waits and is tried again) while there is none."""
    claim = await lookup("PersistentVolumeClaim", claim_name)
    if claim is None:
        raise ContainerConfigError(f'persistentvolumeclaim "{claim_name}" not found')
    if not claim.spec.volume_name:
        raise ContainerConfigError(f'persistentvolumeclaim "{claim_name}" is not bound')
    pv = await lookup("PersistentVolume", claim.spec.volume_name)
    if pv is None:
        raise ContainerConfigError(f'persistentvolume "{claim.spec.volume_name}" not found')
    if pv.spec.HasField("local"):
        path = Path(pv.spec.local.path)
        if not path.is_dir():
            raise ContainerConfigError(f'local volume path "{path}" does not exist on this node')
        return str(path)
    if pv.spec.HasField("host_path"):
        path = Path(pv.spec.host_path.path)
        if pv.spec.host_path.type in ("DirectoryOrCreate", "") and not path.exists():
            path.mkdir(parents=True, exist_ok=True)
        return str(path)
    raise ContainerConfigError(
        f'persistentvolume "{pv.metadata.name}": only local and hostPath volumes are supported'
    )


async def _prepare(pod: Any, volume: Any, root: Path, lookup: Lookup, tokens: Tokens | None) -> str:
    """Make one volume's directory; its path on the node."""
    if volume.HasField("host_path"):
        path = Path(volume.host_path.path)
        if volume.host_path.type in ("DirectoryOrCreate", "") and not path.exists():
            path.mkdir(parents=True, exist_ok=True)
        return str(path)
    if volume.HasField("persistent_volume_claim"):
        return await claimed_path(lookup, volume.persistent_volume_claim.claim_name)
    target = root / volume.name
    if volume.HasField("config_map"):
        source = volume.config_map
        files = await _object_files(lookup, "ConfigMap", source.name, source)
        mode = source.default_mode if source.HasField("default_mode") else 0o644
        _write_files(target, files, mode)
    elif volume.HasField("secret"):
        source = volume.secret
        files = await _object_files(lookup, "Secret", source.secret_name, source)
        mode = source.default_mode if source.HasField("default_mode") else 0o644
        _write_files(target, files, mode)
    elif volume.HasField("projected"):
        source = volume.projected
        files = await projected_files(pod, source, lookup, tokens)
        _write_files(target, files, _mode(source))
    elif volume.HasField("downward_api"):
        source = volume.downward_api
        _write_files(target, downward_files(pod, source.items), _mode(source))
    elif volume.HasField("empty_dir"):
        target.mkdir(parents=True, exist_ok=True)
    else:
        raise ContainerConfigError(f'volume "{volume.name}": this volume type is not supported')
    return str(target)


def _mode(source: Any) -> int:
    return source.default_mode if source.HasField("default_mode") else 0o644


async def prepare_volumes(
    pod: Any, data_dir: Path, lookup: Lookup, tokens: Tokens | None = None
) -> dict[str, str]:
    """Every volume of the pod made on the node: name -> host path."""
    root = pod_dir(data_dir, pod.metadata.uid) / "volumes"
    return {v.name: await _prepare(pod, v, root, lookup, tokens) for v in pod.spec.volumes}


def read_only_volumes(pod: Any) -> set[str]:
    """Volumes every mount of which is read-only (a claim with ``readOnly``)."""
    return {
        v.name
        for v in pod.spec.volumes
        if v.HasField("persistent_volume_claim") and v.persistent_volume_claim.read_only
    }


def container_mounts(
    container: Any, volumes: dict[str, str], read_only: set[str] | frozenset[str] = frozenset()
) -> list[Mount]:
    mounts = []
    for vm in container.volume_mounts:
        if vm.name not in volumes:
            raise ContainerConfigError(f'volume "{vm.name}" is not defined in the pod')
        host = volumes[vm.name]
        if vm.sub_path:
            host = os.path.join(host, vm.sub_path)
        mounts.append(Mount(host, vm.mount_path, vm.read_only or vm.name in read_only))
    return mounts
