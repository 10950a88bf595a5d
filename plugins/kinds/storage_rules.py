"""Defaults and validation of PersistentVolumes, PersistentVolumeClaims and
StorageClasses, with Kubernetes' field paths and wording."""

from __future__ import annotations

from typing import Any

from shoal.apiserver.validate import REQUIRED, unsupported
from shoal.quantity import QuantityError, parse_quantity
from shoal.selectors import SelectorError, label_selector_from_proto
from shoal.strategy import Causes

STORAGE = "storage"
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
RECLAIM_POLICIES = ("Retain", "Delete", "Recycle")
CLASS_RECLAIM_POLICIES = ("Retain", "Delete")
VOLUME_MODES = ("Block", "Filesystem")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
IMMUTABLE = "Invalid value: field is immutable"
PV_SOURCES = ("host_path", "local", "nfs")


def default_persistent_volume(pv: Any) -> None:
    """A volume made by hand is kept once released (Retain); a provisioner
    sets its class's policy (Delete) itself."""
    spec = pv.spec
    if not spec.persistent_volume_reclaim_policy:
        spec.persistent_volume_reclaim_policy = "Retain"
    if not spec.HasField("volume_mode"):
        spec.volume_mode = "Filesystem"
    if not pv.status.phase:
        pv.status.phase = "Pending"


def default_persistent_volume_claim(pvc: Any) -> None:
    if not pvc.spec.HasField("volume_mode"):
        pvc.spec.volume_mode = "Filesystem"
    if not pvc.status.phase:
        pvc.status.phase = "Pending"


def default_storage_class(sc: Any) -> None:
    if not sc.HasField("reclaim_policy"):
        sc.reclaim_policy = "Delete"
    if not sc.HasField("volume_binding_mode"):
        sc.volume_binding_mode = "Immediate"


def _access_modes(path: str, modes: Any) -> Causes:
    if not modes:
        return [(path, f"{REQUIRED}: at least 1 access mode is required")]
    causes = [(path, unsupported(m, ACCESS_MODES)) for m in modes if m not in ACCESS_MODES]
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        causes.append((path, "Forbidden: may not use ReadWriteOncePod with other access modes"))
    return causes


def _storage(path: str, values: Any, *, positive: bool) -> Causes:
    """``values[storage]`` must be there and be a quantity (above 0 for a claim)."""
    text = values.get(STORAGE)
    if text is None:
        return [(f"{path}[{STORAGE}]", REQUIRED)]
    try:
        amount = parse_quantity(text)
    except QuantityError as err:
        return [(f"{path}[{STORAGE}]", f'Invalid value: "{text}": {err}')]
    if amount < 0 or (positive and amount == 0):
        return [(f"{path}[{STORAGE}]", f'Invalid value: "{text}": must be greater than zero')]
    return []


def _volume_mode(path: str, holder: Any) -> Causes:
    if holder.HasField("volume_mode") and holder.volume_mode not in VOLUME_MODES:
        return [(path, unsupported(holder.volume_mode, VOLUME_MODES))]
    return []


def validate_persistent_volume(pv: Any) -> Causes:
    spec = pv.spec
    causes = _storage("spec.capacity", spec.capacity, positive=False)
    causes += _access_modes("spec.accessModes", spec.access_modes)
    policy = spec.persistent_volume_reclaim_policy
    if policy and policy not in RECLAIM_POLICIES:
        causes.append(("spec.persistentVolumeReclaimPolicy", unsupported(policy, RECLAIM_POLICIES)))
    causes += _volume_mode("spec.volumeMode", spec)
    sources = [s for s in PV_SOURCES if spec.HasField(s)]
    if not sources:
        causes.append(("spec", f"{REQUIRED}: must specify a volume type"))
    elif len(sources) > 1:
        causes.append(("spec", "Forbidden: may not specify more than 1 volume type"))
    if spec.HasField("host_path") and not spec.host_path.path:
        causes.append(("spec.hostPath.path", REQUIRED))
    if spec.HasField("local"):
        if not spec.local.path:
            causes.append(("spec.local.path", REQUIRED))
        if not spec.node_affinity.required.node_selector_terms:
            causes.append(("spec.nodeAffinity", f"{REQUIRED}: Local volume requires node affinity"))
    if spec.HasField("nfs") and not spec.nfs.server:
        causes.append(("spec.nfs.server", REQUIRED))
    return causes


def validate_persistent_volume_claim(pvc: Any) -> Causes:
    spec = pvc.spec
    causes = _access_modes("spec.accessModes", spec.access_modes)
    causes += _storage("spec.resources.requests", spec.resources.requests, positive=True)
    causes += _volume_mode("spec.volumeMode", spec)
    try:
        label_selector_from_proto(spec.selector)
    except SelectorError as err:
        causes.append(("spec.selector", str(err)))
    return causes


def validate_storage_class(sc: Any) -> Causes:
    causes: Causes = []
    if not sc.provisioner:
        causes.append(("provisioner", REQUIRED))
    if sc.HasField("reclaim_policy") and sc.reclaim_policy not in CLASS_RECLAIM_POLICIES:
        causes.append(("reclaimPolicy", unsupported(sc.reclaim_policy, CLASS_RECLAIM_POLICIES)))
    mode = sc.volume_binding_mode
    if sc.HasField("volume_binding_mode") and mode not in BINDING_MODES:
        causes.append(("volumeBindingMode", unsupported(mode, BINDING_MODES)))
    return causes


def storage_class_update(old: Any, new: Any) -> Causes:
    causes: Causes = []
    if old.provisioner != new.provisioner:
        causes.append(("provisioner", "Forbidden: updates to provisioner are forbidden."))
    if dict(old.parameters) != dict(new.parameters):
        causes.append(("parameters", "Forbidden: updates to parameters are forbidden."))
    if old.reclaim_policy != new.reclaim_policy:
        causes.append(("reclaimPolicy", "Forbidden: updates to reclaimPolicy are forbidden."))
    if old.volume_binding_mode != new.volume_binding_mode:
        causes.append(("volumeBindingMode", IMMUTABLE))
    return causes


def persistent_volume_update(old: Any, new: Any) -> Causes:
    causes: Causes = []
    if old.spec.volume_mode != new.spec.volume_mode:
        causes.append(("spec.volumeMode", IMMUTABLE))
    for source in PV_SOURCES:
        if getattr(old.spec, source) != getattr(new.spec, source):
            causes.append(
                (
                    "spec.persistentvolumesource",
                    "Forbidden: spec.persistentvolumesource is immutable after creation",
                )
            )
            break
    if old.spec.HasField("node_affinity") and old.spec.node_affinity != new.spec.node_affinity:
        causes.append(("spec.nodeAffinity", IMMUTABLE))
    return causes


def requested_storage(pvc: Any) -> str:
    return str(pvc.spec.resources.requests.get(STORAGE, ""))


def persistent_volume_claim_update(old: Any, new: Any) -> Causes:
    """A claim's spec is fixed once made, except: a growing storage request,
    and the binder's volumeName on an unbound claim."""
    frozen_old, frozen_new = type(old.spec)(), type(new.spec)()
    frozen_old.CopyFrom(old.spec)
    frozen_new.CopyFrom(new.spec)
    for spec in (frozen_old, frozen_new):
        spec.resources.requests.pop(STORAGE, None)
    if not old.spec.volume_name:
        frozen_old.volume_name = frozen_new.volume_name
    if frozen_old != frozen_new:
        return [
            (
                "spec",
                "Forbidden: spec is immutable after creation except resources.requests "
                "and volumeAttributesClassName for bound claims",
            )
        ]
    before, after = requested_storage(old), requested_storage(new)
    if before == after:
        return []
    try:
        shrinks = parse_quantity(after) < parse_quantity(before)
    except QuantityError:
        return []  # validate reports a malformed quantity
    if shrinks:
        return [
            (
                "spec.resources.requests.storage",
                "Forbidden: field can not be less than previous value",
            )
        ]
    return []
