"""Whether one set of RBAC rules covers another: Kubernetes' policy
comparator (``pkg/registry/rbac/validation``), which the escalation check
uses to decide that a user grants only rights it holds.

Each requested rule is broken down into atoms of one API group, one
resource, one verb and at most one resource name (or one non-resource URL
and one verb); an atom is covered when a single rule of the owner covers
it, wildcards (``*``, ``*/subresource``, a trailing ``*`` in a URL) and
resource names included. What is left over is what the user lacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

ALL = "*"


@dataclass(frozen=True)
class Rule:
    """A PolicyRule as plain tuples (the protobuf message has the same names)."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def of(cls, rule: Any) -> Rule:
        return cls(
            tuple(rule.verbs),
            tuple(rule.api_groups),
            tuple(rule.resources),
            tuple(rule.resource_names),
            tuple(rule.non_resource_urls),
        )

    def compact(self) -> str:
        """Kubernetes' CompactString: ``{APIGroups:["*"], Resources:["*"], Verbs:["*"]}``."""
        parts = [
            f"{label}:{_go_quoted(values)}"
            for label, values in (
                ("APIGroups", self.api_groups),
                ("Resources", self.resources),
                ("NonResourceURLs", self.non_resource_urls),
                ("ResourceNames", self.resource_names),
                ("Verbs", self.verbs),
            )
            if values
        ]
        return "{" + ", ".join(parts) + "}"


def _go_quoted(values: Sequence[str]) -> str:
    """Go's ``%q`` of a []string: ``["a" "b"]``."""
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


def breakdown(rule: Any) -> list[Rule]:
    """Atoms: one group, resource, verb and resource name; or one URL and verb."""
    atoms = []
    names = tuple(rule.resource_names) or ("",)
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                for name in names:
                    atoms.append(Rule((verb,), (group,), (resource,), (name,) if name else ()))
    for url in rule.non_resource_urls:
        for verb in rule.verbs:
            atoms.append(Rule((verb,), non_resource_urls=(url,)))
    return atoms


def _resources_cover(owned: Sequence[str], wanted: Sequence[str]) -> bool:
    if ALL in owned:
        return True
    for resource in wanted:
        if resource in owned:
            continue
        if "/" not in resource:
            return False
        if "*/" + resource.split("/", 1)[1] not in owned:
            return False
    return True


def _url_covers(owned: str, wanted: str) -> bool:
    return owned == wanted or (owned.endswith(ALL) and wanted.startswith(owned.rstrip(ALL)))


def _urls_cover(owned: Sequence[str], wanted: Sequence[str]) -> bool:
    return all(any(_url_covers(o, w) for o in owned) for w in wanted)


def rule_covers(owner: Any, atom: Rule) -> bool:
    """Whether one rule of the owner (any shape) covers one atom."""
    verbs = ALL in owner.verbs or set(atom.verbs) <= set(owner.verbs)
    groups = ALL in owner.api_groups or set(atom.api_groups) <= set(owner.api_groups)
    if atom.resource_names:
        names = not owner.resource_names or set(atom.resource_names) <= set(owner.resource_names)
    else:
        names = not owner.resource_names
    return (
        verbs
        and groups
        and names
        and _resources_cover(owner.resources, atom.resources)
        and _urls_cover(owner.non_resource_urls, atom.non_resource_urls)
    )


def uncovered(owner_rules: Iterable[Any], wanted: Iterable[Any]) -> list[Rule]:
    """The atoms of ``wanted`` no rule of ``owner_rules`` covers (empty: covered)."""
    owned = list(owner_rules)
    missing = []
    for rule in wanted:
        for atom in breakdown(rule):
            if not any(rule_covers(o, atom) for o in owned):
                missing.append(atom)
    return missing


def compact_missing(atoms: Sequence[Rule]) -> list[str]:
    """Atoms that differ only by verb as one rule, each as Kubernetes prints it, sorted."""
    verbs: dict[tuple[Any, ...], list[str]] = {}
    for atom in atoms:
        key = (atom.api_groups, atom.resources, atom.resource_names, atom.non_resource_urls)
        found = verbs.setdefault(key, [])
        if atom.verbs[0] not in found:
            found.append(atom.verbs[0])
    rules = [Rule(tuple(v), *key) for key, v in verbs.items()]
    return sorted({rule.compact() for rule in rules})


FULL_AUTHORITY = (
    Rule(("*",), ("*",), ("*",)),
    Rule(("*",), non_resource_urls=("*",)),
)
