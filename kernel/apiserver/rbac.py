"""RBAC: Roles and ClusterRoles grant rules, bindings grant roles to
subjects; a request is allowed when any rule of any role bound to the user
(or one of its groups) matches it. Nothing denies. Rule matching follows
Kubernetes' ``rbac/v1`` helpers, wildcards included.

The objects come from a :class:`~shoal.apiserver.policy.PolicyCache` kept
from the store, indexed by subject so a check costs a few dict lookups.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from shoal.apiserver.authz import NO_OPINION, Attributes, Decision
from shoal.auth import UserInfo

ALL = "*"


def verb_matches(rule: Any, verb: str) -> bool:
    return ALL in rule.verbs or verb in rule.verbs


def group_matches(rule: Any, group: str) -> bool:
    return ALL in rule.api_groups or group in rule.api_groups


def resource_matches(rule: Any, resource: str, subresource: str) -> bool:
    if ALL in rule.resources:
        return True
    if not subresource:
        return resource in rule.resources
    full = f"{resource}/{subresource}"
    return full in rule.resources or f"*/{subresource}" in rule.resources


def name_matches(rule: Any, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def path_matches(rule: Any, path: str) -> bool:
    for pattern in rule.non_resource_urls:
        if pattern in (ALL, path):
            return True
        if pattern.endswith(ALL) and path.startswith(pattern[:-1]):
            return True
    return False


def rule_allows(rule: Any, attrs: Attributes) -> bool:
    if not verb_matches(rule, attrs.verb):
        return False
    if not attrs.resource_request:
        return path_matches(rule, attrs.path)
    return (
        group_matches(rule, attrs.api_group)
        and resource_matches(rule, attrs.resource, attrs.subresource)
        and name_matches(rule, attrs.name)
    )


def subject_keys(user: UserInfo) -> list[tuple[str, str]]:
    """How bindings name this user: its name and each of its groups. A
    ServiceAccount subject is indexed under its user name, as Kubernetes
    matches it (``system:serviceaccount:<ns>:<name>``)."""
    return [("User", user.name), *(("Group", g) for g in user.groups)]


@dataclass(frozen=True)
class Grant:
    """Rules a user holds through one binding (for reasons and rules review)."""

    binding_kind: str
    binding: str
    namespace: str
    role_kind: str
    role: str
    rules: tuple[Any, ...]

    def describe(self, user: UserInfo) -> str:
        where = f'"{self.namespace}/{self.binding}"' if self.namespace else f'"{self.binding}"'
        return (
            f'RBAC: allowed by {self.binding_kind} {where} of {self.role_kind} "{self.role}" '
            f'to User "{user.name}"'
        )


class RBACAuthorizer:
    def __init__(self, policy: Any) -> None:
        self.policy = policy

    async def authorize(self, attrs: Attributes) -> Decision:
        for grant in self.grants(attrs.user, attrs.namespace):
            if any(rule_allows(rule, attrs) for rule in grant.rules):
                return Decision(True, grant.describe(attrs.user))
        return NO_OPINION

    def grants(self, user: UserInfo, namespace: str) -> Iterator[Grant]:
        """Cluster-wide grants first, then those of ``namespace``."""
        keys = subject_keys(user)
        yield from self.policy.cluster_grants(keys)
        if namespace:
            yield from self.policy.namespace_grants(keys, namespace)

    def rules_for(self, user: UserInfo, namespace: str) -> Iterable[Any]:
        for grant in self.grants(user, namespace):
            yield from grant.rules
