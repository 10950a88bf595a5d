"""Matching rules shared by filters and scores: node selector terms (node
affinity), taints against tolerations, and pod affinity terms, worded and
behaving as in Kubernetes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shoal.selectors import LabelSelector, SelectorError, label_selector_from_proto

# -- node affinity ------------------------------------------------------------


def _as_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def requirement_matches(req: Any, labels: Mapping[str, str]) -> bool:
    """One NodeSelectorRequirement (In, NotIn, Exists, DoesNotExist, Gt, Lt)."""
    op, present = req.operator, req.key in labels
    if op == "In":
        return present and labels[req.key] in req.values
    if op == "NotIn":
        return not present or labels[req.key] not in req.values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(req.values) == 1:
        have, want = _as_int(labels[req.key]), _as_int(req.values[0])
        if have is None or want is None:
            return False
        return have > want if op == "Gt" else have < want
    return False


def term_matches(term: Any, node: Any) -> bool:
    """A NodeSelectorTerm: every expression and field requirement holds.
    A term with neither matches nothing, as in Kubernetes."""
    if not term.match_expressions and not term.match_fields:
        return False
    labels = node.metadata.labels
    if not all(requirement_matches(r, labels) for r in term.match_expressions):
        return False
    fields = {"metadata.name": node.metadata.name}
    return all(requirement_matches(r, fields) for r in term.match_fields)


def pinned_node_names(selector: Any) -> frozenset[str]:
    """The only nodes required node affinity can match, when every term
    names them by ``matchFields: metadata.name In [...]`` (a DaemonSet's
    pod); empty when some term leaves every node open, or when the names
    of one term contradict each other. Kubernetes' NodeAffinity
    ``getPreFilterNodeNames``."""
    found: set[str] = set()
    for term in selector.node_selector_terms:
        names: set[str] | None = None
        for req in term.match_fields:
            if req.key == "metadata.name" and req.operator == "In":
                names = set(req.values) if names is None else names & set(req.values)
        if names is None:  # this term is not pinned: any node may match it
            return frozenset()
        found |= names
    return frozenset(found)


def node_selector_matches(selector: Any, node: Any) -> bool:
    """Required node affinity: any one of the terms (they are ORed)."""
    return any(term_matches(t, node) for t in selector.node_selector_terms)


# -- taints and tolerations -----------------------------------------------------


def tolerates(toleration: Any, taint: Any) -> bool:
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True  # an empty key with Exists tolerates every taint
    return toleration.value == taint.value


def untolerated(taints: Iterable[Any], tolerations: Iterable[Any], effects: tuple[str, ...]) -> Any:
    """The first taint with one of ``effects`` that no toleration covers."""
    tolerations = list(tolerations)
    for taint in taints:
        if taint.effect in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def describe_taint(taint: Any) -> str:
    return f"{{{taint.key}: {taint.value}}}"


# -- pod affinity -----------------------------------------------------------------


def term_selector(term: Any) -> LabelSelector | None:
    """The label selector of a PodAffinityTerm; None (matches nothing) when
    absent or invalid, as Kubernetes treats a nil selector."""
    if not term.HasField("label_selector"):
        return None
    try:
        return label_selector_from_proto(term.label_selector)
    except SelectorError:
        return None


def term_namespaces(term: Any, pod_namespace: str) -> frozenset[str] | None:
    """Namespaces a term looks at; None means all (an empty namespaceSelector)."""
    if term.HasField("namespace_selector") and not (
        term.namespace_selector.match_labels or term.namespace_selector.match_expressions
    ):
        return None
    return frozenset(term.namespaces) or frozenset([pod_namespace])


class AffinityTerm:
    """A PodAffinityTerm, parsed once: does a pod match it?"""

    __slots__ = ("namespaces", "selector", "topology_key", "weight")

    def __init__(self, term: Any, pod_namespace: str, weight: int = 0) -> None:
        self.selector = term_selector(term)
        self.namespaces = term_namespaces(term, pod_namespace)
        self.topology_key = term.topology_key
        self.weight = weight

    def matches(self, pod: Any) -> bool:
        if self.selector is None:
            return False
        if self.namespaces is not None and pod.metadata.namespace not in self.namespaces:
            return False
        return self.selector.matches(pod.metadata.labels)


def required_terms(affinity: Any, namespace: str) -> list[AffinityTerm]:
    return [
        AffinityTerm(t, namespace)
        for t in affinity.required_during_scheduling_ignored_during_execution
    ]


def preferred_terms(affinity: Any, namespace: str) -> list[AffinityTerm]:
    return [
        AffinityTerm(w.pod_affinity_term, namespace, w.weight)
        for w in affinity.preferred_during_scheduling_ignored_during_execution
    ]
