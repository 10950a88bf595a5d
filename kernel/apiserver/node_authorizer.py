"""The node authorizer: what an agent (``system:node:<name>`` in
``system:nodes``) may do, as Kubernetes' node authorizer plus its
NodeRestriction admission. The ``system:node`` ClusterRole's rules say which
verbs on which resources; on top of them an agent may only

- create, update or patch its own Node (and its status) and its own Lease in
  ``kube-node-lease``;
- update the status of, and delete, pods bound to it;
- read the Secrets and ConfigMaps that pods bound to it use.

Which pods use what is kept from the store (an index by node); a miss is
confirmed against the store before it refuses, so a pod just bound is
never refused because the index lags."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from shoal import errors, kinds
from shoal.apiserver.authz import NO_OPINION, Attributes, Decision
from shoal.apiserver.bootstrap_policy import NODE_RULES, policy_rules
from shoal.apiserver.rbac import rule_allows
from shoal.apiserver.storecache import StoreCache

LEASE_NAMESPACE = "kube-node-lease"
RULES = policy_rules(NODE_RULES)  # the system:node ClusterRole's
Ref = tuple[str, str, str]  # (resource, namespace, name)


def pod_references(pod: Any) -> Iterator[Ref]:
    """The secrets and configmaps a pod uses: volumes, env, envFrom, pull secrets."""
    ns, spec = pod.metadata.namespace, pod.spec
    for secret in spec.image_pull_secrets:
        yield ("secrets", ns, secret.name)
    for volume in spec.volumes:
        if volume.HasField("secret"):
            yield ("secrets", ns, volume.secret.secret_name)
        if volume.HasField("config_map"):
            yield ("configmaps", ns, volume.config_map.name)
        for source in volume.projected.sources:
            if source.HasField("secret"):
                yield ("secrets", ns, source.secret.name)
            if source.HasField("config_map"):
                yield ("configmaps", ns, source.config_map.name)
    for container in [*spec.init_containers, *spec.containers]:
        yield from _container_references(ns, container)


def _container_references(ns: str, container: Any) -> Iterator[Ref]:
    for source in container.env_from:
        if source.HasField("secret_ref"):
            yield ("secrets", ns, source.secret_ref.name)
        if source.HasField("config_map_ref"):
            yield ("configmaps", ns, source.config_map_ref.name)
    for env in container.env:
        ref = env.value_from
        if ref.HasField("secret_key_ref"):
            yield ("secrets", ns, ref.secret_key_ref.name)
        if ref.HasField("config_map_key_ref"):
            yield ("configmaps", ns, ref.config_map_key_ref.name)


class NodeGraph:
    """Pods by node and what each uses, from the store."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self._pods: dict[str, tuple[str, frozenset[Ref]]] = {}
        self._uses: dict[str, dict[Ref, int]] = defaultdict(lambda: defaultdict(int))
        self._uids: dict[str, tuple[str, str, str]] = {}  # key -> (namespace, name, uid)
        self._live: set[tuple[str, str, str]] = set()
        self._cache = StoreCache(registry.store, kinds.resolve("Pod"), self._on_pod)

    async def start(self) -> None:
        await self._cache.start()

    async def stop(self) -> None:
        await self._cache.stop()

    def _on_pod(self, key: str, pod: Any | None) -> None:
        self._live.discard(self._uids.pop(key, ("", "", "")))
        if pod is not None:
            m = pod.metadata
            self._uids[key] = (m.namespace, m.name, m.uid)
            self._live.add(self._uids[key])
        old = self._pods.pop(key, None)
        if old is not None:
            uses = self._uses[old[0]]
            for ref in old[1]:
                uses[ref] -= 1
                if uses[ref] <= 0:
                    del uses[ref]
        if pod is not None and pod.spec.node_name:
            refs = frozenset(pod_references(pod))
            self._pods[key] = (pod.spec.node_name, refs)
            for ref in refs:
                self._uses[pod.spec.node_name][ref] += 1

    def pod_exists(self, namespace: str, name: str, uid: str) -> bool:
        """Whether pod ``namespace/name`` with this uid is in the store (what a
        bound service-account token needs to stay good)."""
        return (namespace, name, uid) in self._live

    async def node_uses(self, node: str, ref: Ref) -> bool:
        if ref in self._uses.get(node, {}):
            return True
        pods = await self.registry.list(
            kinds.resolve("Pod"), ref[1], field_selector=f"spec.nodeName={node}"
        )
        return any(ref in set(pod_references(pod)) for pod in pods.items)

    async def pod_node(self, namespace: str, name: str) -> str | None:
        try:
            pod = await self.registry.get(kinds.resolve("Pod"), namespace, name)
        except errors.NotFoundError:
            return None
        return str(pod.spec.node_name)


class NodeAuthorizer:
    def __init__(self, graph: NodeGraph) -> None:
        self.graph = graph

    async def authorize(self, attrs: Attributes) -> Decision:
        node = attrs.user.node_name
        if not node:
            return NO_OPINION
        if _lease_namespace_create(attrs):  # agents ensure it; the server made it already
            return Decision(True, "node authorizer: kube-node-lease namespace")
        if not any(rule_allows(rule, attrs) for rule in RULES):
            return NO_OPINION
        problem = await self._restriction(node, attrs)
        if problem:
            return Decision(False, problem)
        return Decision(True, f'node authorizer: allowed for node "{node}"')

    async def _volume_node(self, attrs: Attributes, name: str) -> str:
        if attrs.verb == "create":
            return volume_node(attrs.obj) if attrs.obj is not None else ""
        try:
            pv = await self.graph.registry.get(kinds.resolve("PersistentVolume"), "", name)
        except errors.NotFoundError:
            return ""
        return volume_node(pv)

    async def _restriction(self, node: str, attrs: Attributes) -> str:
        """Why this node may not touch this object, or ""."""
        resource, name = attrs.resource, _target_name(attrs)
        if resource in ("secrets", "configmaps"):
            ref = (resource, attrs.namespace, name)
            if name and await self.graph.node_uses(node, ref):
                return ""
            return f"no relationship found between node '{node}' and this object"
        if resource == "nodes" and attrs.verb not in ("get", "list", "watch") and name != node:
            return f"node '{node}' cannot modify node '{name}'"
        if resource == "leases" and (attrs.namespace != LEASE_NAMESPACE or name != node):
            return f"node '{node}' can only access its own lease in {LEASE_NAMESPACE}"
        if resource == "persistentvolumes" and attrs.verb in ("create", "delete"):
            if await self._volume_node(attrs, name) != node:
                return f"node '{node}' can only create and delete volumes pinned to it"
            return ""
        changes_pod = attrs.subresource == "status" or attrs.verb == "delete"
        if (
            resource == "pods"
            and changes_pod
            and await self.graph.pod_node(attrs.namespace, name) != node
        ):
            return f"node '{node}' can only change pods bound to it"
        return ""


def volume_node(pv: Any) -> str:
    """The one node a volume's required node affinity names (hostname In [node])."""
    terms = pv.spec.node_affinity.required.node_selector_terms
    if len(terms) != 1:
        return ""
    for req in terms[0].match_expressions:
        if req.key == "kubernetes.io/hostname" and req.operator == "In" and len(req.values) == 1:
            return str(req.values[0])
    return ""


def _target_name(attrs: Attributes) -> str:
    if attrs.name or attrs.obj is None:
        return attrs.name
    return str(attrs.obj.metadata.name)


def _lease_namespace_create(attrs: Attributes) -> bool:
    return (
        attrs.verb == "create"
        and attrs.resource == "namespaces"
        and _target_name(attrs) == LEASE_NAMESPACE
    )
