"""The ``apps/v1`` kinds and their strategies: ReplicaSet, Deployment,
DaemonSet, StatefulSet and ControllerRevision."""

from __future__ import annotations

from typing import Any

from shoal import hookimpl
from shoal.api.v1 import apps_pb2
from shoal.apiserver import defaults, validate
from shoal.kinds import Kind
from shoal.plugins.kinds import columns, sets
from shoal.plugins.kinds._register import kind, register_all
from shoal.plugins.kinds.core import ALL, REPLICAS
from shoal.registry import Registry
from shoal.strategy import Causes, ScaleSubresource, Strategy, Table


class _Workload(Strategy):
    """A scalable workload whose selector is fixed once created."""

    categories = ALL
    scale = REPLICAS
    reset_status_on_create = True

    def validate_update(self, old: Any, new: Any) -> Causes:
        if old.spec.selector != new.spec.selector:
            return [("spec.selector", "Invalid value: field is immutable")]
        return []


class ReplicaSetStrategy(_Workload):
    table = columns.REPLICAS
    selectable_fields = {"status.replicas": lambda o: str(o.status.replicas)}

    def default(self, obj: Any) -> None:
        defaults.default_replica_set(obj)

    def validate(self, obj: Any) -> Causes:
        return validate.validate_replica_set(obj)


class DeploymentStrategy(_Workload):
    table = columns.DEPLOYMENT

    def default(self, obj: Any) -> None:
        defaults.default_deployment(obj)

    def validate(self, obj: Any) -> Causes:
        return validate.validate_deployment(obj)


KINDS: tuple[Kind, ...] = (
    kind(
        "ReplicaSet",
        "apps/v1",
        apps_pb2.ReplicaSet,
        ("rs",),
        strategy=ReplicaSetStrategy(),
        has_status=True,
    ),
    kind(
        "Deployment",
        "apps/v1",
        apps_pb2.Deployment,
        ("deploy",),
        strategy=DeploymentStrategy(),
        has_status=True,
    ),
)


# -- DaemonSet, StatefulSet, ControllerRevision ----------------------------------


class DaemonSetStrategy(Strategy):
    categories = ALL
    reset_status_on_create = True
    table = Table(
        ("DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"),
        sets.daemon_set_cells,
        ("CONTAINERS", "IMAGES", "SELECTOR"),
        sets.template_wide_cells,
    )

    def default(self, obj: Any) -> None:
        sets.default_daemon_set(obj)

    def validate(self, obj: Any) -> Causes:
        return sets.validate_daemon_set(obj)

    def validate_update(self, old: Any, new: Any) -> Causes:
        if old.spec.selector != new.spec.selector:
            return [("spec.selector", sets.IMMUTABLE)]
        return []


class StatefulSetStrategy(Strategy):
    categories = ALL
    scale = ScaleSubresource(".spec.replicas", ".status.replicas", ".spec.selector")
    reset_status_on_create = True
    table = Table(
        ("READY", "AGE"),
        sets.stateful_set_cells,
        ("CONTAINERS", "IMAGES"),
        sets.stateful_set_wide_cells,
    )

    def default(self, obj: Any) -> None:
        sets.default_stateful_set(obj)

    def validate(self, obj: Any) -> Causes:
        return sets.validate_stateful_set(obj)

    def validate_update(self, old: Any, new: Any) -> Causes:
        return sets.validate_stateful_set_update(old, new)


class ControllerRevisionStrategy(Strategy):
    table = Table(("CONTROLLER", "REVISION", "AGE"), sets.controller_revision_cells)

    def validate(self, obj: Any) -> Causes:
        return sets.validate_controller_revision(obj)

    def validate_update(self, old: Any, new: Any) -> Causes:
        return sets.validate_controller_revision_update(old, new)


SET_KINDS: tuple[Kind, ...] = (
    kind(
        "DaemonSet",
        "apps/v1",
        apps_pb2.DaemonSet,
        ("ds",),
        strategy=DaemonSetStrategy(),
        has_status=True,
    ),
    kind(
        "StatefulSet",
        "apps/v1",
        apps_pb2.StatefulSet,
        ("sts",),
        strategy=StatefulSetStrategy(),
        has_status=True,
    ),
    kind(
        "ControllerRevision",
        "apps/v1",
        apps_pb2.ControllerRevision,
        strategy=ControllerRevisionStrategy(),
    ),
)


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    register_all(registry, *KINDS, *SET_KINDS)
