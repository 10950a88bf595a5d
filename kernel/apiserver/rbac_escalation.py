"""RBAC's escalation check, as Kubernetes' ``policybased`` registries do it:
nobody grants through RBAC a right they do not hold.

- Creating or updating a Role or ClusterRole: every rule must be covered by
  the rules the caller holds (in the Role's namespace; cluster-wide for a
  ClusterRole), unless the caller may ``escalate`` that role. Setting (or
  changing a role that has) an ``aggregationRule`` takes full authority.
- Creating or updating a RoleBinding or ClusterRoleBinding: the caller must
  hold every rule of the referenced role (in the binding's namespace), or
  may ``bind`` that role.
- ``system:masters`` may always; requests the server makes itself (no
  caller: bootstrap, reconciling built-in roles) are not checked.

A refusal is PERMISSION_DENIED / 403 in Kubernetes' words, before anything
is stored. The caller's rules come from the RBAC policy cache, so a binding
the caller got a moment ago may not count yet: that errs towards refusing.
"""

from __future__ import annotations

from typing import Any

from shoal import auth, errors, kinds
from shoal.apiserver.authz import Attributes, Authorizer
from shoal.apiserver.rbac import RBACAuthorizer
from shoal.apiserver.rbac_covers import FULL_AUTHORITY, compact_missing, uncovered
from shoal.kinds import Kind

RBAC_GROUP = "rbac.authorization.k8s.io"
ROLES = {"Role": "roles", "ClusterRole": "clusterroles"}
BINDINGS = {"RoleBinding": "rolebindings", "ClusterRoleBinding": "clusterrolebindings"}


class EscalationCheck:
    """Called by the object registry on every create and update, after
    admission and validation, with the object about to be stored."""

    def __init__(self, authorizer: Authorizer, rbac: RBACAuthorizer, registry: Any) -> None:
        self.authorizer = authorizer
        self.rbac = rbac
        self.registry = registry

    async def check(self, operation: str, kind: Kind, obj: Any, old: Any | None) -> None:
        if kind.kind not in ROLES and kind.kind not in BINDINGS:
            return
        user = auth.current_user()
        if user is None or auth.ADMIN_GROUP in user.groups:
            return
        if old is not None and _only_gc_fields(old, obj):
            return  # owner references and finalizers: the garbage collector's business
        if kind.kind in ROLES:
            await self._check_role(user, kind, obj, old)
        else:
            await self._check_binding(user, kind, obj)

    async def _check_role(self, user: auth.UserInfo, kind: Kind, role: Any, old: Any) -> None:
        resource, m = ROLES[kind.kind], role.metadata
        if await self._allowed(user, "escalate", resource, m.namespace, m.name):
            return
        self._confirm(user, resource, m.name, m.namespace, role.rules)
        aggregated = [r for r in (role, old) if r is not None and _aggregates(r)]
        if aggregated and uncovered(self.rbac.rules_for(user, ""), FULL_AUTHORITY):
            raise errors.ForbiddenError(
                f'{resource}.{RBAC_GROUP} "{m.name}" is forbidden: must have cluster-admin '
                "privileges to use the aggregationRule"
            )

    async def _check_binding(self, user: auth.UserInfo, kind: Kind, binding: Any) -> None:
        ref, m = binding.role_ref, binding.metadata
        role_resource = ROLES.get(ref.kind, "")
        if role_resource and await self._allowed(
            user, "bind", role_resource, m.namespace, ref.name
        ):
            return
        rules = await self._role_rules(ref, m.namespace)
        self._confirm(user, BINDINGS[kind.kind], m.name, m.namespace, rules)

    async def _allowed(
        self, user: auth.UserInfo, verb: str, resource: str, namespace: str, name: str
    ) -> bool:
        attrs = Attributes(user, verb, RBAC_GROUP, resource, namespace=namespace, name=name)
        return (await self.authorizer.authorize(attrs)).allowed

    async def _role_rules(self, ref: Any, namespace: str) -> list[Any]:
        """The referenced role's rules, read from the store (a role made a
        moment ago counts); an aggregated ClusterRole's as the cache resolves them."""
        kind = "Role" if ref.kind == "Role" else "ClusterRole"
        try:
            role = await self.registry.get(kinds.resolve(kind), namespace, ref.name)
        except errors.NotFoundError:
            raise errors.NotFoundError(
                f'{ROLES[kind]}.{RBAC_GROUP} "{ref.name}" not found'
            ) from None
        if kind == "ClusterRole" and _aggregates(role):
            return list(self.rbac.policy.cluster_role_rules(ref.name))
        return list(role.rules)

    def _confirm(
        self, user: auth.UserInfo, resource: str, name: str, namespace: str, rules: Any
    ) -> None:
        missing = uncovered(self.rbac.rules_for(user, namespace), rules)
        if not missing:
            return
        groups = " ".join(f'"{g}"' for g in user.groups)
        raise errors.ForbiddenError(
            f'{resource}.{RBAC_GROUP} "{name}" is forbidden: user "{user.name}" '
            f"(groups=[{groups}]) is attempting to grant RBAC permissions not currently held: "
            + ", ".join(compact_missing(missing))
        )


def _aggregates(role: Any) -> bool:
    if "aggregation_rule" not in role.DESCRIPTOR.fields_by_name:  # a Role
        return False
    return role.HasField("aggregation_rule") and bool(role.aggregation_rule.cluster_role_selectors)


def _only_gc_fields(old: Any, new: Any) -> bool:
    """Kubernetes' IsOnlyMutatingGCFields: nothing but ownerReferences and
    finalizers differ."""
    a, b = type(old)(), type(new)()
    a.CopyFrom(old)
    b.CopyFrom(new)
    for obj in (a, b):
        obj.metadata.ClearField("owner_references")
        obj.metadata.ClearField("finalizers")
        obj.metadata.ClearField("resource_version")
        obj.metadata.ClearField("generation")
    return bool(a == b)
