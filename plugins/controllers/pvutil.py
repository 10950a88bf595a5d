"""What the PersistentVolume controller, the scheduler's VolumeBinding
plugin and the agents' local provisioner agree on: which volume suits which
claim, and the annotations of binding and provisioning (Kubernetes' names)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from shoal.quantity import QuantityError, parse_quantity
from shoal.selectors import label_selector_from_proto

SELECTED_NODE = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
LOCAL_PROVISIONER = "shoal.dev/local-path"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def storage_amount(values: Any) -> Decimal:
    try:
        return parse_quantity(str(values.get("storage", "0")))
    except QuantityError:
        return Decimal(0)


def claim_class(claim: Any) -> str:
    return str(claim.spec.storage_class_name)


def volume_path(pv: Any) -> str:
    """Where a node finds the volume's data."""
    if pv.spec.HasField("local"):
        return str(pv.spec.local.path)
    if pv.spec.HasField("host_path"):
        return str(pv.spec.host_path.path)
    return ""


def claim_ref_matches(pv: Any, claim: Any) -> bool:
    """The volume is bound (or pre-bound, uid empty) to this claim."""
    ref = pv.spec.claim_ref
    m = claim.metadata
    return ref.name == m.name and ref.namespace == m.namespace and (not ref.uid or ref.uid == m.uid)


def suits(pv: Any, claim: Any) -> bool:
    """Kubernetes' FindMatchingVolume test for one volume, whatever its node."""
    if pv.metadata.HasField("deletion_timestamp"):
        return False
    if pv.spec.HasField("claim_ref") and not claim_ref_matches(pv, claim):
        return False
    if pv.status.phase not in ("", "Pending", "Available") and not pv.spec.HasField("claim_ref"):
        return False
    if pv.spec.storage_class_name != claim_class(claim):
        return False
    if (pv.spec.volume_mode or "Filesystem") != (claim.spec.volume_mode or "Filesystem"):
        return False
    if not set(claim.spec.access_modes) <= set(pv.spec.access_modes):
        return False
    if storage_amount(pv.spec.capacity) < storage_amount(claim.spec.resources.requests):
        return False
    if claim.spec.HasField("selector"):
        selector = label_selector_from_proto(claim.spec.selector)
        if not selector.matches(pv.metadata.labels):
            return False
    return True


def best_volume(claim: Any, volumes: Iterable[Any], fits_node: Any = None) -> Any | None:
    """The smallest volume that suits the claim (one pre-bound to it first);
    ``fits_node(pv)`` narrows to the volumes a node reaches."""
    candidates = [pv for pv in volumes if suits(pv, claim) and (fits_node is None or fits_node(pv))]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda pv: (
            not pv.spec.HasField("claim_ref"),
            storage_amount(pv.spec.capacity),
            pv.metadata.name,
        ),
    )


def pod_claims(pod: Any) -> list[str]:
    return [
        v.persistent_volume_claim.claim_name
        for v in pod.spec.volumes
        if v.HasField("persistent_volume_claim")
    ]


def pod_holds_claims(pod: Any) -> bool:
    """A pod that still may use its claims: not finished. (A pod being
    deleted still holds them until it is gone: its containers may run.)"""
    return pod.status.phase not in ("Succeeded", "Failed")
