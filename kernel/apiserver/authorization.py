"""Everything authorization needs in one server: the RBAC policy cache, the
node graph, the chain of authorizers, the audit sink and the interceptor
that puts them in the request path. ``APIServer`` owns one."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
from typing import Any

import grpc
from shoal import errors, kinds
from shoal.apiserver.audit import AuditLog, AuditSink
from shoal.apiserver.authorization_service import AccessReviewer
from shoal.apiserver.authz import MastersAuthorizer, UnionAuthorizer
from shoal.apiserver.authz_interceptor import AuthorizationInterceptor
from shoal.apiserver.bootstrap_policy import cluster_role_bindings, cluster_roles, reconcile
from shoal.apiserver.impersonation import Impersonator
from shoal.apiserver.node_authorizer import LEASE_NAMESPACE, NodeAuthorizer, NodeGraph
from shoal.apiserver.policy import PolicyCache
from shoal.apiserver.rbac import RBACAuthorizer
from shoal.apiserver.rbac_escalation import EscalationCheck


class Authorization:
    def __init__(self, registry: Any, audit: AuditSink | pathlib.Path | None = None) -> None:
        self.registry = registry
        self.policy = PolicyCache(registry.store)
        self.graph = NodeGraph(registry)
        self.rbac = RBACAuthorizer(self.policy)
        self.authorizer = UnionAuthorizer(
            MastersAuthorizer(), NodeAuthorizer(self.graph), self.rbac
        )
        self.audit = AuditLog(audit) if isinstance(audit, pathlib.Path) else audit
        self.impersonator = Impersonator(self.authorizer, lambda: self.audit)
        self.reviewer = AccessReviewer(self.authorizer, self.rbac, self.impersonator)
        # Nobody grants through RBAC what they do not hold (bind/escalate aside).
        registry.guards.append(EscalationCheck(self.authorizer, self.rbac, registry))
        self._interceptor = AuthorizationInterceptor(self.authorizer, self.audit)

    async def start(self) -> None:
        """Write the built-in roles (and the node lease namespace), then load
        the policy: the server answers nothing before it can authorize."""
        await self.bootstrap()
        await self.policy.start()
        await self.graph.start()

    async def bootstrap(self) -> None:
        """Create the built-in roles and binding (or restore their content)."""
        objects = [*cluster_roles(), *cluster_role_bindings()]
        await asyncio.gather(*(self._ensure(obj) for obj in objects))
        with contextlib.suppress(errors.AlreadyExistsError):
            namespace = kinds.resolve("Namespace").message()
            namespace.metadata.name = LEASE_NAMESPACE
            await self.registry.create(namespace)

    async def _ensure(self, obj: Any) -> None:
        try:
            await self.registry.create(obj)
        except errors.AlreadyExistsError:
            await reconcile(self.registry, obj)

    async def stop(self) -> None:
        await self.graph.stop()
        await self.policy.stop()
        close = getattr(self.audit, "close", None)
        if close is not None:
            close()

    def interceptor(self) -> grpc.aio.ServerInterceptor:
        return self._interceptor

    def set_audit(self, audit: AuditSink | None) -> None:
        """Send audit events to ``audit`` from now on (tests, log reopening)."""
        self.audit = self._interceptor.audit = audit
