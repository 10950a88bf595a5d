"""The ``apps/v1`` kinds and their strategies: ReplicaSet and Deployment."""

from __future__ import annotations

from typing import Any

from shoal import hookimpl
from shoal.api.v1 import apps_pb2
from shoal.apiserver import defaults, validate
from shoal.kinds import Kind
from shoal.plugins.kinds import columns
from shoal.plugins.kinds._register import kind, register_all
from shoal.plugins.kinds.core import ALL, REPLICAS
from shoal.registry import Registry
from shoal.strategy import Causes, Strategy


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


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    register_all(registry, *KINDS)
