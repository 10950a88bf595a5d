"""A StatefulSet's claims: one PersistentVolumeClaim per volumeClaimTemplate
and ordinal, named ``<template>-<set>-<ordinal>``, made before its pod and
outliving it, so a pod made again under the same name finds its data
(Kubernetes' ``StatefulPodControl`` storage half).

``persistentVolumeClaimRetentionPolicy`` decides who owns a claim, and so
when the garbage collector deletes it (non-controller owner references, as
Kubernetes sets them):

* whenDeleted Delete: the StatefulSet owns its claims (deleting the set
  deletes them);
* whenScaled Delete: the pod owns its claim once a scale down condemns its
  ordinal (deleting the pod deletes it);
* Retain, Retain (the default): nobody owns them; they stay.
"""

from __future__ import annotations

from typing import Any

from shoal import errors, kinds
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers import statefulset_util as su

CLAIM = "PersistentVolumeClaim"


def claim_name(template: Any, sts: Any, ordinal: int) -> str:
    return f"{template.metadata.name}-{sts.metadata.name}-{ordinal}"


def new_claim(sts: Any, template: Any, ordinal: int) -> Any:
    claim = kinds.resolve(CLAIM).message()
    claim.metadata.CopyFrom(template.metadata)
    claim.metadata.name = claim_name(template, sts, ordinal)
    claim.metadata.namespace = sts.metadata.namespace
    claim.metadata.labels.update(sts.spec.selector.match_labels)
    claim.spec.CopyFrom(template.spec)
    return claim


def with_claims(sts: Any, pod: Any, ordinal: int) -> None:
    """Point the pod's volumes named after the templates at its claims."""
    names = {t.metadata.name: claim_name(t, sts, ordinal) for t in sts.spec.volume_claim_templates}
    if not names:
        return
    kept = [v for v in pod.spec.volumes if v.name not in names]
    del pod.spec.volumes[:]
    pod.spec.volumes.extend(kept)
    for volume, claim in names.items():
        pod.spec.volumes.add(name=volume).persistent_volume_claim.claim_name = claim


def _ref(owner: Any, kind: str) -> Any:
    ref = podutil.controller_ref(owner)
    ref.controller = False
    ref.block_owner_deletion = False
    ref.kind = kind
    return ref


def wanted_owners(sts: Any, pod: Any | None, ordinal: int) -> list[Any]:
    """The owner references a claim should carry now (Kubernetes'
    ``updateClaimOwnerRefForSetAndPod``)."""
    policy = sts.spec.persistent_volume_claim_retention_policy
    condemned = ordinal not in su.ordinals(sts)
    owners = []
    if policy.when_deleted == "Delete" and not (policy.when_scaled == "Delete" and condemned):
        owners.append(_ref(sts, "StatefulSet"))
    if policy.when_scaled == "Delete" and condemned and pod is not None:
        owners.append(_ref(pod, "Pod"))
    return owners


async def ensure_claims(client: Any, claims: Any, sts: Any, ordinal: int) -> None:
    """Create the ordinal's missing claims; raise while one is being
    deleted (the pod must wait for its replacement)."""
    for template in sts.spec.volume_claim_templates:
        name = claim_name(template, sts, ordinal)
        existing = claims.get(name, sts.metadata.namespace)
        if existing is not None:
            if existing.metadata.HasField("deletion_timestamp"):
                raise errors.ConflictError(f"pvc {name} is being deleted")
            continue
        claim = new_claim(sts, template, ordinal)
        claim.metadata.owner_references.extend(wanted_owners(sts, None, ordinal))
        try:
            await client.create(claim)
        except errors.AlreadyExistsError:
            continue


async def set_owners(client: Any, claims: Any, sts: Any, pod: Any, ordinal: int) -> None:
    """Bring the owner references of the ordinal's claims in line with the
    retention policy (before a condemned pod is deleted)."""
    wanted = wanted_owners(sts, pod, ordinal)
    ours = {sts.metadata.uid, pod.metadata.uid}
    for template in sts.spec.volume_claim_templates:
        claim = claims.get(claim_name(template, sts, ordinal), sts.metadata.namespace)
        if claim is None:
            continue
        others = [r for r in claim.metadata.owner_references if r.uid not in ours]
        if [*others, *wanted] == list(claim.metadata.owner_references):
            continue
        updated = podutil.copy(claim)
        del updated.metadata.owner_references[:]
        updated.metadata.owner_references.extend([*others, *wanted])
        try:
            await client.update(updated)
        except errors.NotFoundError:
            continue
