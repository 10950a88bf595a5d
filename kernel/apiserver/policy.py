"""The RBAC objects of the cluster, kept in memory from the store and
indexed by subject: which bindings name a user or group, cluster-wide and
per namespace, and each ClusterRole's rules with aggregation resolved."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from shoal import kinds
from shoal.apiserver.rbac import Grant
from shoal.apiserver.storecache import StoreCache
from shoal.selectors import SelectorError, label_selector_from_proto
from shoal.store import Store

SubjectKey = tuple[str, str]
KINDS = ("ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")


def binding_subject_keys(binding: Any) -> list[SubjectKey]:
    keys = []
    for s in binding.subjects:
        if s.kind == "ServiceAccount":
            keys.append(("User", f"system:serviceaccount:{s.namespace}:{s.name}"))
        else:
            keys.append((s.kind, s.name))
    return keys


class PolicyCache:
    def __init__(self, store: Store) -> None:
        self.cluster_roles: dict[str, Any] = {}
        self.roles: dict[tuple[str, str], Any] = {}
        self.cluster_bindings: dict[str, Any] = {}
        self.bindings: dict[tuple[str, str], Any] = {}
        self._cluster_index: dict[SubjectKey, set[str]] = defaultdict(set)
        self._ns_index: dict[tuple[SubjectKey, str], set[str]] = defaultdict(set)
        self._aggregated: dict[str, tuple[Any, ...]] = {}
        self._by_key: dict[str, Any] = {}
        self._caches = [
            StoreCache(store, kinds.resolve(k), getattr(self, f"_on_{k.lower()}")) for k in KINDS
        ]

    async def start(self) -> None:
        for cache in self._caches:
            await cache.start()

    async def stop(self) -> None:
        for cache in self._caches:
            await cache.stop()

    # -- lookups -------------------------------------------------------------

    def cluster_grants(self, keys: list[SubjectKey]) -> Iterator[Grant]:
        for key in keys:
            for name in sorted(self._cluster_index.get(key, ())):
                binding = self.cluster_bindings[name]
                ref = binding.role_ref
                yield Grant("ClusterRoleBinding", name, "", ref.kind, ref.name, self.rules_of(ref))

    def namespace_grants(self, keys: list[SubjectKey], namespace: str) -> Iterator[Grant]:
        for key in keys:
            for name in sorted(self._ns_index.get((key, namespace), ())):
                ref = self.bindings[(namespace, name)].role_ref
                rules = self.rules_of(ref, namespace)
                yield Grant("RoleBinding", name, namespace, ref.kind, ref.name, rules)

    def rules_of(self, ref: Any, namespace: str = "") -> tuple[Any, ...]:
        if ref.kind == "Role":
            role = self.roles.get((namespace, ref.name))
            return tuple(role.rules) if role is not None else ()
        return self.cluster_role_rules(ref.name)

    def cluster_role_rules(self, name: str, seen: frozenset[str] = frozenset()) -> tuple[Any, ...]:
        """A ClusterRole's rules; an aggregated one's are its selected roles'."""
        cached = self._aggregated.get(name)
        if cached is not None:
            return cached
        role = self.cluster_roles.get(name)
        if role is None:
            return ()
        if not role.HasField("aggregation_rule"):
            return tuple(role.rules)
        rules = list(role.rules)
        for other in self._selected(role, seen | {name}):
            rules += self.cluster_role_rules(other, seen | {name})
        self._aggregated[name] = tuple(rules)
        return self._aggregated[name]

    def _selected(self, role: Any, seen: frozenset[str]) -> list[str]:
        selectors = []
        for selector in role.aggregation_rule.cluster_role_selectors:
            with contextlib.suppress(SelectorError):  # validation's business; grant nothing
                selectors.append(label_selector_from_proto(selector))
        return [
            name
            for name, other in sorted(self.cluster_roles.items())
            if name not in seen and any(s.matches(other.metadata.labels) for s in selectors)
        ]

    # -- feeding from the store ----------------------------------------------

    def _on_clusterrole(self, key: str, obj: Any | None) -> None:
        self._aggregated.clear()  # any role may feed an aggregated one
        self._replace(key, obj, self.cluster_roles, lambda o: o.metadata.name)

    def _on_role(self, key: str, obj: Any | None) -> None:
        self._replace(key, obj, self.roles, lambda o: (o.metadata.namespace, o.metadata.name))

    def _on_clusterrolebinding(self, key: str, obj: Any | None) -> None:
        old = self._replace(key, obj, self.cluster_bindings, lambda o: o.metadata.name)
        for binding, add in ((old, False), (obj, True)):
            if binding is not None:
                for subject in binding_subject_keys(binding):
                    _index(self._cluster_index, subject, binding.metadata.name, add)

    def _on_rolebinding(self, key: str, obj: Any | None) -> None:
        old = self._replace(
            key, obj, self.bindings, lambda o: (o.metadata.namespace, o.metadata.name)
        )
        for binding, add in ((old, False), (obj, True)):
            if binding is not None:
                ns = binding.metadata.namespace
                for subject in binding_subject_keys(binding):
                    _index(self._ns_index, (subject, ns), binding.metadata.name, add)

    def _replace(self, key: str, obj: Any | None, table: dict[Any, Any], ident: Any) -> Any:
        old = self._by_key.pop(key, None)
        if old is not None:
            table.pop(ident(old), None)
        if obj is not None:
            self._by_key[key] = obj
            table[ident(obj)] = obj
        return old


def _index(index: dict[Any, set[str]], key: Any, name: str, add: bool) -> None:
    if add:
        index[key].add(name)
        return
    names = index.get(key)
    if names is not None:
        names.discard(name)
        if not names:
            del index[key]
