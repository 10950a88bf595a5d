"""The ``rbac.authorization.k8s.io/v1`` kinds and their strategies: Role,
ClusterRole, RoleBinding and ClusterRoleBinding."""

from __future__ import annotations

from typing import Any

from shoal import hookimpl
from shoal.api.v1 import rbac_pb2
from shoal.apiserver import rbac_validation
from shoal.kinds import Kind
from shoal.plugins.kinds._register import kind, register_all
from shoal.registry import Registry
from shoal.strategy import Causes, Strategy

RBAC = "rbac.authorization.k8s.io/v1"


class _Named(Strategy):
    def validate_name(self, name: str) -> list[str]:
        return rbac_validation.validate_path_segment_name(name)  # "system:node" is a name


class RoleStrategy(_Named):
    def validate(self, obj: Any) -> Causes:
        return rbac_validation.validate_role(obj)


class ClusterRoleStrategy(_Named):
    def validate(self, obj: Any) -> Causes:
        return rbac_validation.validate_cluster_role(obj)


class BindingStrategy(_Named):
    def validate(self, obj: Any) -> Causes:
        return rbac_validation.validate_binding(obj)

    def validate_update(self, old: Any, new: Any) -> Causes:
        if old.role_ref != new.role_ref:
            return [("roleRef", "Invalid value: cannot change roleRef")]
        return []


KINDS: tuple[Kind, ...] = (
    kind("Role", RBAC, rbac_pb2.Role, strategy=RoleStrategy()),
    kind(
        "ClusterRole", RBAC, rbac_pb2.ClusterRole, strategy=ClusterRoleStrategy(), namespaced=False
    ),
    kind("RoleBinding", RBAC, rbac_pb2.RoleBinding, strategy=BindingStrategy()),
    kind(
        "ClusterRoleBinding",
        RBAC,
        rbac_pb2.ClusterRoleBinding,
        strategy=BindingStrategy(),
        namespaced=False,
    ),
)


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    register_all(registry, *KINDS)
