"""The columns kubectl 1.32 prints for PersistentVolumes, claims and
StorageClasses (Kubernetes' pkg/printers/internalversion), as
:class:`shoal.strategy.Table` cells: the headers after NAME."""

from __future__ import annotations

from typing import Any

from shoal.age import age
from shoal.strategy import Table

Obj = dict[str, Any]
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class"
# kubectl's order and abbreviations (helper.GetAccessModesAsString)
_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)
UNSET = "<unset>"


def access_modes(modes: list[str] | None) -> str:
    held = set(modes or ())
    return ",".join(short for mode, short in _MODES if mode in held)


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _age(obj: Obj, now: float) -> str:
    return age(_meta(obj).get("creationTimestamp", ""), now)


def _phase(obj: Obj) -> str:
    if _meta(obj).get("deletionTimestamp"):
        return "Terminating"
    return str((obj.get("status") or {}).get("phase") or "")


def is_default_class(annotations: dict[str, str]) -> bool:
    return "true" in (annotations.get(DEFAULT_CLASS), annotations.get(BETA_DEFAULT_CLASS))


def persistent_volume(obj: Obj, now: float) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    claim = spec.get("claimRef") or {}
    claimed = f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else ""
    return [
        str((spec.get("capacity") or {}).get("storage", "0")),
        access_modes(spec.get("accessModes")),
        str(spec.get("persistentVolumeReclaimPolicy") or ""),
        _phase(obj),
        claimed,
        str(spec.get("storageClassName") or ""),
        str(spec.get("volumeAttributesClassName") or UNSET),
        str(status.get("reason") or ""),
        _age(obj, now),
    ]


def _volume_mode(obj: Obj, now: float) -> list[str]:
    return [str((obj.get("spec") or {}).get("volumeMode") or UNSET)]


def persistent_volume_claim(obj: Obj, now: float) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes"))
        capacity = str((status.get("capacity") or {}).get("storage", "0"))
    attributes = status.get("currentVolumeAttributesClassName") or spec.get(
        "volumeAttributesClassName"
    )
    return [
        _phase(obj),
        str(spec.get("volumeName") or ""),
        capacity,
        modes,
        str(spec.get("storageClassName") or ""),
        str(attributes or UNSET),
        _age(obj, now),
    ]


def storage_class_name(obj: Obj, name: str) -> str:
    """kubectl prints the default class's NAME as "standard (default)"."""
    default = is_default_class(_meta(obj).get("annotations") or {})
    return f"{name} (default)" if default else name


def storage_class(obj: Obj, now: float) -> list[str]:
    return [
        str(obj.get("provisioner") or ""),
        str(obj.get("reclaimPolicy") or "Delete"),
        str(obj.get("volumeBindingMode") or "Immediate"),
        "true" if obj.get("allowVolumeExpansion") else "false",
        _age(obj, now),
    ]


PERSISTENT_VOLUME = Table(
    headers=(
        "CAPACITY",
        "ACCESS MODES",
        "RECLAIM POLICY",
        "STATUS",
        "CLAIM",
        "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS",
        "REASON",
        "AGE",
    ),
    cells=persistent_volume,
    wide_headers=("VOLUMEMODE",),
    wide_cells=_volume_mode,
)
PERSISTENT_VOLUME_CLAIM = Table(
    headers=(
        "STATUS",
        "VOLUME",
        "CAPACITY",
        "ACCESS MODES",
        "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS",
        "AGE",
    ),
    cells=persistent_volume_claim,
    wide_headers=("VOLUMEMODE",),
    wide_cells=_volume_mode,
)
STORAGE_CLASS = Table(
    headers=("PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"),
    cells=storage_class,
    name=storage_class_name,
)
