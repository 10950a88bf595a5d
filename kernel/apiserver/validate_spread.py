"""Validation of a pod spec's ``topologySpreadConstraints``, worded as
Kubernetes' ``validateTopologySpreadConstraints``."""

from __future__ import annotations

from typing import Any

from shoal import validation as names
from shoal.selectors import SelectorError, label_selector_from_proto

Causes = list[tuple[str, str]]

WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
INCLUSION_POLICIES = ("Honor", "Ignore")


def _unsupported(value: str, allowed: tuple[str, ...]) -> str:
    quoted = ", ".join(f'"{a}"' for a in allowed)
    return f'Unsupported value: "{value}": supported values: {quoted}'


def validate_topology_spread(path: str, constraints: Any) -> Causes:
    causes: Causes = []
    seen: set[tuple[str, str]] = set()
    for i, c in enumerate(constraints):
        at = f"{path}.topologySpreadConstraints[{i}]"
        if c.max_skew <= 0:
            causes.append(
                (f"{at}.maxSkew", f"Invalid value: {c.max_skew}: must be greater than zero")
            )
        if not c.topology_key:
            causes.append((f"{at}.topologyKey", "Required value: can not be empty"))
        else:
            causes += _key(f"{at}.topologyKey", c.topology_key)
        if c.when_unsatisfiable not in WHEN_UNSATISFIABLE:
            causes.append(
                (f"{at}.whenUnsatisfiable", _unsupported(c.when_unsatisfiable, WHEN_UNSATISFIABLE))
            )
        pair = (c.topology_key, c.when_unsatisfiable)
        if pair in seen:
            causes.append((f"{at}", f'Duplicate value: "{{{pair[0]}, {pair[1]}}}"'))
        seen.add(pair)
        causes += _min_domains(at, c)
        for field, policy in (("nodeAffinityPolicy", "node_affinity_policy"),
                              ("nodeTaintsPolicy", "node_taints_policy")):  # fmt: skip
            value = getattr(c, policy)
            if c.HasField(policy) and value not in INCLUSION_POLICIES:
                causes.append((f"{at}.{field}", _unsupported(value, INCLUSION_POLICIES)))
        causes += _selector(at, c)
    return causes


def _key(path: str, key: str) -> Causes:
    return [(path, f'Invalid value: "{key}": {m}') for m in names.validate_label_key(key)]


def _min_domains(at: str, c: Any) -> Causes:
    if not c.HasField("min_domains"):
        return []
    if c.min_domains <= 0:
        return [(f"{at}.minDomains", f"Invalid value: {c.min_domains}: must be greater than zero")]
    if c.when_unsatisfiable != "DoNotSchedule":
        return [
            (
                f"{at}.minDomains",
                f"Invalid value: {c.min_domains}: can only use minDomains if "
                f"whenUnsatisfiable=DoNotSchedule, not {c.when_unsatisfiable}",
            )
        ]
    return []


def _selector(at: str, c: Any) -> Causes:
    causes: Causes = []
    keys: set[str] = set()
    if c.HasField("label_selector"):
        try:
            label_selector_from_proto(c.label_selector)
        except SelectorError as err:
            causes.append((f"{at}.labelSelector", f"Invalid value: {err}"))
        keys = set(c.label_selector.match_labels) | {
            e.key for e in c.label_selector.match_expressions
        }
    for j, key in enumerate(c.match_label_keys):
        causes += _key(f"{at}.matchLabelKeys[{j}]", key)
        if key in keys:
            causes.append(
                (f"{at}.matchLabelKeys[{j}]",
                 f'Invalid value: "{key}": exists in both matchLabelKeys and labelSelector')
            )  # fmt: skip
    return causes
