"""Who is asking: the identity every request carries once authenticated.

Authentication (client certificates, bearer tokens) turns a request into a
:class:`UserInfo`; authorization (RBAC, the node authorizer) and admission
read it. Names follow Kubernetes: ``system:masters`` may do anything,
``system:node:<name>`` in ``system:nodes`` is an agent,
``system:serviceaccount:<ns>:<name>`` a workload or plugin.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

ADMIN_GROUP = "system:masters"
NODES_GROUP = "system:nodes"
AUTHENTICATED_GROUP = "system:authenticated"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
NODE_USER_PREFIX = "system:node:"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    # Kubernetes' user "extra" fields: (key, values) pairs, sorted by key.
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Who asked to act as this user (impersonation), for the audit log.
    impersonated_by: str = ""

    @property
    def node_name(self) -> str:
        """The node an agent's identity is for, or ""."""
        if self.name.startswith(NODE_USER_PREFIX) and NODES_GROUP in self.groups:
            return self.name[len(NODE_USER_PREFIX) :]
        return ""


ANONYMOUS = UserInfo("system:anonymous", (UNAUTHENTICATED_GROUP,))
# What an unauthenticated, explicitly --insecure listener serves requests as.
INSECURE_ADMIN = UserInfo("system:admin", (ADMIN_GROUP, AUTHENTICATED_GROUP))

_current: contextvars.ContextVar[UserInfo | None] = contextvars.ContextVar(
    "shoal_user", default=None
)


def current_user() -> UserInfo | None:
    """The identity of the request being served (None outside a request)."""
    return _current.get()


def set_current_user(user: UserInfo | None) -> contextvars.Token[UserInfo | None]:
    return _current.set(user)
