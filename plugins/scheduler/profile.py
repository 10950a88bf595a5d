"""Scheduler profiles: which plugins run at each extension point, in what
order, with what score weights — a subset of Kubernetes'
KubeSchedulerConfiguration (``shoal server --scheduler-config FILE``)::

    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    percentageOfNodesToScore: 0
    profiles:
    - schedulerName: default-scheduler
      plugins:
        filter:
          disabled: [{name: NodePorts}]
        score:
          enabled: [{name: LeastAllocated, weight: 5}]
          disabled: [{name: "*"}]

Per extension point, as Kubernetes: the defaults (every registered plugin
that implements the point, in registration order) minus ``disabled``
(``"*"``: all of them), then ``enabled`` in the order given; a default
named in ``enabled`` moves to its place there. ``multiPoint`` enables or
disables a plugin at every point it implements. A weight in ``score``
overrides the plugin's own.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from shoal.scheduling import EXTENSION_POINTS

DEFAULT_SCHEDULER_NAME = "default-scheduler"
API_VERSIONS = ("kubescheduler.config.k8s.io/v1", "kubescheduler.config.k8s.io/v1beta3")
_PROFILE_KEYS = {"schedulerName", "plugins", "percentageOfNodesToScore", "permitTimeoutSeconds"}
_TOP_KEYS = {"apiVersion", "kind", "profiles", "percentageOfNodesToScore"}


class SchedulerConfigError(ValueError):
    """A scheduler configuration that cannot be used; the message says where."""


@dataclass
class SchedulerProfile:
    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    # extension point -> plugin names in call order; a point left out runs
    # its defaults.
    plugins: dict[str, list[str]] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)
    percentage_of_nodes_to_score: int = 0
    permit_timeout: float = 60.0


def default_order(point: str, plugins: Sequence[tuple[str, Any]]) -> list[str]:
    protocol = EXTENSION_POINTS[point]
    return [name for name, obj in plugins if isinstance(obj, protocol)]


def load_scheduler_config(
    source: str | pathlib.Path | Mapping[str, Any], plugins: Sequence[tuple[str, Any]]
) -> list[SchedulerProfile]:
    """Profiles from a KubeSchedulerConfiguration file (or its parsed dict),
    checked against the registered ``plugins``."""
    where = "scheduler config"
    if not isinstance(source, Mapping):
        where = str(source)
        try:
            source = yaml.safe_load(pathlib.Path(source).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise SchedulerConfigError(f"{where}: {err}") from None
    if not isinstance(source, Mapping):
        raise SchedulerConfigError(f"{where}: expected a KubeSchedulerConfiguration mapping")
    return _profiles(source, plugins, where)


def _profiles(
    doc: Mapping[str, Any], plugins: Sequence[tuple[str, Any]], where: str
) -> list[SchedulerProfile]:
    _only(doc, _TOP_KEYS, where)
    if doc.get("kind", "KubeSchedulerConfiguration") != "KubeSchedulerConfiguration":
        raise SchedulerConfigError(f"{where}: kind must be KubeSchedulerConfiguration")
    if doc.get("apiVersion", API_VERSIONS[0]) not in API_VERSIONS:
        raise SchedulerConfigError(f"{where}: apiVersion must be one of {', '.join(API_VERSIONS)}")
    percentage = _percentage(doc.get("percentageOfNodesToScore", 0), where)
    raw = doc.get("profiles") or [{}]
    if not isinstance(raw, list):
        raise SchedulerConfigError(f"{where}: profiles must be a list")
    profiles = [
        _profile(p, plugins, percentage, f"{where}: profiles[{i}]") for i, p in enumerate(raw)
    ]
    names = [p.scheduler_name for p in profiles]
    duplicate = sorted({n for n in names if names.count(n) > 1})
    if duplicate:
        raise SchedulerConfigError(f"{where}: duplicate schedulerName {duplicate[0]!r}")
    return profiles


def _profile(
    raw: Any, plugins: Sequence[tuple[str, Any]], percentage: int, where: str
) -> SchedulerProfile:
    if not isinstance(raw, Mapping):
        raise SchedulerConfigError(f"{where}: expected a mapping")
    _only(raw, _PROFILE_KEYS, where)
    profile = SchedulerProfile(
        scheduler_name=str(raw.get("schedulerName") or DEFAULT_SCHEDULER_NAME),
        percentage_of_nodes_to_score=_percentage(
            raw.get("percentageOfNodesToScore", percentage), where
        ),
        permit_timeout=float(raw.get("permitTimeoutSeconds", 60.0)),
    )
    sets = raw.get("plugins") or {}
    if not isinstance(sets, Mapping):
        raise SchedulerConfigError(f"{where}.plugins: expected a mapping")
    unknown = sorted(set(sets) - set(EXTENSION_POINTS) - {"multiPoint"})
    if unknown:
        points = ", ".join(["multiPoint", *EXTENSION_POINTS])
        raise SchedulerConfigError(
            f"{where}.plugins: unknown extension point {unknown[0]!r}; known: {points}"
        )
    multi = _plugin_set(sets.get("multiPoint"), plugins, f"{where}.plugins.multiPoint")
    for point in EXTENSION_POINTS:
        chosen = _plugin_set(sets.get(point), plugins, f"{where}.plugins.{point}")
        profile.plugins[point] = _order(point, plugins, multi, chosen, f"{where}.plugins.{point}")
        if point == "score":
            profile.weights.update(chosen.weights)
    return profile


@dataclass
class _Set:
    enabled: list[str] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)
    weights: dict[str, int] = field(default_factory=dict)


def _plugin_set(raw: Any, plugins: Sequence[tuple[str, Any]], where: str) -> _Set:
    result = _Set()
    if raw is None:
        return result
    if not isinstance(raw, Mapping):
        raise SchedulerConfigError(f"{where}: expected enabled/disabled lists")
    _only(raw, {"enabled", "disabled"}, where)
    known = {name for name, _ in plugins}
    for which in ("enabled", "disabled"):
        for i, item in enumerate(raw.get(which) or []):
            name = item.get("name") if isinstance(item, Mapping) else None
            if not isinstance(name, str) or not name:
                raise SchedulerConfigError(f"{where}.{which}[{i}]: needs a name")
            if name not in known and not (which == "disabled" and name == "*"):
                available = ", ".join(sorted(known)) or "none"
                raise SchedulerConfigError(
                    f"{where}.{which}[{i}]: unknown plugin {name!r}; available: {available}"
                )
            if which == "disabled":
                result.disabled.add(name)
                continue
            result.enabled.append(name)
            if "weight" in item:
                result.weights[name] = _weight(item["weight"], f"{where}.{which}[{i}].weight")
    return result


def _order(
    point: str, plugins: Sequence[tuple[str, Any]], multi: _Set, chosen: _Set, where: str
) -> list[str]:
    objects = dict(plugins)
    protocol = EXTENSION_POINTS[point]
    for name in chosen.enabled:
        if not isinstance(objects[name], protocol):
            raise SchedulerConfigError(f"{where}: plugin {name!r} does not implement {point}")
    implementing = [n for n in multi.enabled if isinstance(objects[n], protocol)]
    disabled = chosen.disabled | multi.disabled
    defaults = [] if "*" in disabled else default_order(point, plugins)
    enabled = [*implementing, *chosen.enabled]
    kept = [n for n in defaults if n not in disabled and n not in enabled]
    ordered: list[str] = []
    for name in [*kept, *enabled]:
        if name not in ordered:
            ordered.append(name)
    return ordered


def _only(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise SchedulerConfigError(f"{where}: unknown field {unknown[0]!r}")


def _percentage(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise SchedulerConfigError(f"{where}: percentageOfNodesToScore must be 0..100")
    return value


def _weight(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SchedulerConfigError(f"{where}: must be a whole number >= 1")
    return value
