"""The storage kinds and their strategies: PersistentVolume and
PersistentVolumeClaim (core ``v1``) and StorageClass (``storage.k8s.io/v1``).

The API server makes the default StorageClass ``standard`` at start (as
minikube ships one), and gives a claim that names no class the default
class, as Kubernetes' DefaultStorageClass admission does."""

from __future__ import annotations

import contextlib
from typing import Any

from shoal import errors, hookimpl
from shoal.api.v1 import core_pb2, storage_pb2
from shoal.kinds import Kind
from shoal.plugins.kinds import storage_columns as columns
from shoal.plugins.kinds import storage_rules as rules
from shoal.plugins.kinds._register import kind, register_all
from shoal.registry import Registry
from shoal.strategy import Causes, StorageContext, Strategy

# The class the API server makes at start, and its provisioner (the agents').
DEFAULT_CLASS_NAME = "standard"
LOCAL_PROVISIONER = "shoal.dev/local-path"
PV_PROTECTION = "kubernetes.io/pv-protection"
PVC_PROTECTION = "kubernetes.io/pvc-protection"


def _protect(obj: Any, finalizer: str) -> None:
    """Kubernetes' StorageObjectInUseProtection admission: the PV controller
    removes the finalizer once nothing uses the object."""
    if finalizer not in obj.metadata.finalizers:
        obj.metadata.finalizers.append(finalizer)


class PersistentVolumeStrategy(Strategy):
    table = columns.PERSISTENT_VOLUME
    reset_status_on_create = True  # the PV controller owns the phase

    def prepare_for_create(self, obj: Any) -> None:
        _protect(obj, PV_PROTECTION)

    def default(self, obj: Any) -> None:
        rules.default_persistent_volume(obj)

    def validate(self, obj: Any) -> Causes:
        return rules.validate_persistent_volume(obj)

    def validate_update(self, old: Any, new: Any) -> Causes:
        return rules.persistent_volume_update(old, new)


class PersistentVolumeClaimStrategy(Strategy):
    table = columns.PERSISTENT_VOLUME_CLAIM
    reset_status_on_create = True

    def prepare_for_create(self, obj: Any) -> None:
        _protect(obj, PVC_PROTECTION)

    def default(self, obj: Any) -> None:
        rules.default_persistent_volume_claim(obj)

    def validate(self, obj: Any) -> Causes:
        return rules.validate_persistent_volume_claim(obj)

    def validate_update(self, old: Any, new: Any) -> Causes:
        return rules.persistent_volume_claim_update(old, new)

    async def before_create(self, context: StorageContext, obj: Any) -> None:
        """DefaultStorageClass admission: a claim that names no class (the
        field unset, not "") gets the default class."""
        if obj.spec.HasField("storage_class_name"):
            return
        default = await default_storage_class(context)
        if default is not None:
            obj.spec.storage_class_name = default.metadata.name

    async def before_update(self, context: StorageContext, old: Any, new: Any) -> None:
        """A claim grows only once bound, and only if its class allows it."""
        if rules.requested_storage(old) == rules.requested_storage(new):
            return
        allowed = False
        if old.spec.volume_name and old.spec.storage_class_name:
            try:
                sc = await context.get(STORAGE_CLASS, "", old.spec.storage_class_name)
                allowed = sc.allow_volume_expansion
            except errors.NotFoundError:
                allowed = False
        if not allowed:
            raise errors.invalid(
                "PersistentVolumeClaim",
                new.metadata.name,
                [
                    (
                        "spec.resources.requests.storage",
                        "Forbidden: only dynamically provisioned pvc can be resized and "
                        "the storageclass that provisions the pvc must support resize",
                    )
                ],
            )


class StorageClassStrategy(Strategy):
    table = columns.STORAGE_CLASS

    def default(self, obj: Any) -> None:
        rules.default_storage_class(obj)

    def validate(self, obj: Any) -> Causes:
        return rules.validate_storage_class(obj)

    def validate_update(self, old: Any, new: Any) -> Causes:
        return rules.storage_class_update(old, new)

    async def start(self, context: StorageContext) -> None:
        """Make the default class ``standard`` unless a default class exists."""
        if await default_storage_class(context) is not None:
            return
        sc = storage_pb2.StorageClass(
            provisioner=LOCAL_PROVISIONER,
            reclaim_policy="Delete",
            volume_binding_mode="WaitForFirstConsumer",
        )
        sc.metadata.name = DEFAULT_CLASS_NAME
        sc.metadata.annotations[columns.DEFAULT_CLASS] = "true"
        # one kept as its owner left it (no longer default, say) stays so
        with contextlib.suppress(errors.AlreadyExistsError):
            await context.create(sc)


async def default_storage_class(context: StorageContext) -> Any | None:
    """The default StorageClass: the newest of those marked default."""
    listed = await context.list(STORAGE_CLASS)
    marked = [sc for sc in listed.items if columns.is_default_class(dict(sc.metadata.annotations))]
    if not marked:
        return None
    return max(
        marked, key=lambda sc: (sc.metadata.creation_timestamp.ToNanoseconds(), sc.metadata.name)
    )


STORAGE_CLASS = kind(
    "StorageClass",
    "storage.k8s.io/v1",
    storage_pb2.StorageClass,
    ("sc",),
    strategy=StorageClassStrategy(),
    plural="storageclasses",
    namespaced=False,
)
PERSISTENT_VOLUME = kind(
    "PersistentVolume",
    "v1",
    core_pb2.PersistentVolume,
    ("pv",),
    strategy=PersistentVolumeStrategy(),
    namespaced=False,
    has_status=True,
)
PERSISTENT_VOLUME_CLAIM = kind(
    "PersistentVolumeClaim",
    "v1",
    core_pb2.PersistentVolumeClaim,
    ("pvc",),
    strategy=PersistentVolumeClaimStrategy(),
    has_status=True,
)
KINDS: tuple[Kind, ...] = (PERSISTENT_VOLUME, PERSISTENT_VOLUME_CLAIM, STORAGE_CLASS)


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    register_all(registry, *KINDS)
