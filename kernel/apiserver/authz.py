"""Authorization: may this user do this? Attributes of a request, the answer,
and the chain of authorizers that gives it, as Kubernetes' ``authorizer``
package: ``system:masters`` first (it can never be locked out), then the node
authorizer for agents, then RBAC. The first to allow wins; a refusal is
PERMISSION_DENIED in Kubernetes' words and happens before any handler runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from shoal import errors
from shoal.auth import ADMIN_GROUP, UNAUTHENTICATED_GROUP, UserInfo

READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True, slots=True)
class Attributes:
    """One action: a verb on a resource (``resource_request``) or on a path."""

    user: UserInfo
    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""
    resource_request: bool = True
    # The object a create or update carries (the node authorizer reads it).
    obj: Any = None

    @property
    def qualified_resource(self) -> str:
        """ "pods", "deployments.apps": how Kubernetes names a resource in errors."""
        return f"{self.resource}.{self.api_group}" if self.api_group else self.resource

    @property
    def full_resource(self) -> str:
        """ "pods" or "pods/status", as RBAC rules list them."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    def as_user(self, user: UserInfo) -> Attributes:
        return replace(self, user=user)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


NO_OPINION = Decision(False)


class Authorizer(Protocol):
    async def authorize(self, attrs: Attributes) -> Decision: ...


def is_authenticated(user: UserInfo) -> bool:
    return UNAUTHENTICATED_GROUP not in user.groups


class MastersAuthorizer:
    """``system:masters`` may do anything, whatever the RBAC objects say."""

    async def authorize(self, attrs: Attributes) -> Decision:
        if ADMIN_GROUP in attrs.user.groups:
            return Decision(True, f'allowed: member of group "{ADMIN_GROUP}"')
        return NO_OPINION


class UnionAuthorizer:
    """Ask each in turn; the first that allows wins, else the last reason."""

    def __init__(self, *authorizers: Authorizer) -> None:
        self.authorizers = authorizers

    async def authorize(self, attrs: Attributes) -> Decision:
        reason = ""
        for authorizer in self.authorizers:
            decision = await authorizer.authorize(attrs)
            if decision.allowed:
                return decision
            reason = decision.reason or reason
        return Decision(False, reason)


def forbidden_message(attrs: Attributes, reason: str = "") -> str:
    """Kubernetes' wording: ``pods "web" is forbidden: User "alice" cannot
    delete resource "pods" in API group "" in the namespace "default"``."""
    who = f'User "{attrs.user.name}"'
    if not attrs.resource_request:
        text = f'forbidden: {who} cannot {attrs.verb} path "{attrs.path}"'
    else:
        scope = (
            f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
        )
        subject = attrs.qualified_resource + (f' "{attrs.name}"' if attrs.name else "")
        text = (
            f"{subject} is forbidden: {who} cannot {attrs.verb} resource "
            f'"{attrs.full_resource}" in API group "{attrs.api_group}" {scope}'
        )
    return f"{text}: {reason}" if reason else text


def forbidden(attrs: Attributes, reason: str = "") -> errors.ForbiddenError:
    return errors.ForbiddenError(
        forbidden_message(attrs, reason),
        name=attrs.name,
        group=attrs.api_group,
        kind=attrs.resource if attrs.resource_request else "",
    )
