"""The horizontal pod autoscaler's arithmetic, as Kubernetes'
``podautoscaler`` package does it, as plain functions over plain values.

* :func:`resource_proposal`: the replicas one Resource metric asks for:
  ``ceil(ratio * pods)`` where ``ratio`` is the current utilization (usage
  over the pods' requests) or average value over the target, unless the
  ratio is within the 10% tolerance of 1.
* :class:`Behavior`: the stabilization windows (scale up to the lowest and
  down to the highest recommendation of the window) and the scaling
  policies (``Pods`` or ``Percent`` per ``periodSeconds``, the largest or
  smallest change as ``selectPolicy`` says), clamped to min and max.

Only pods with metrics count (a simple version of Kubernetes' algorithm,
which also guesses the usage of pods without metrics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

TOLERANCE = 0.1


class MetricError(ValueError):
    """The metric cannot be computed (a pod without a request, no metrics)."""


@dataclass(frozen=True)
class Proposal:
    replicas: int
    # What status.currentMetrics shows: the average utilization (percent) or None.
    utilization: int | None
    # The average usage per pod (cores for cpu, bytes for memory).
    average: Decimal


def resource_proposal(
    current_replicas: int,
    usage: dict[str, Decimal],
    requests: dict[str, Decimal],
    *,
    target_utilization: int | None = None,
    target_average: Decimal | None = None,
) -> Proposal:
    """``usage``: the pods with metrics, pod name -> usage; ``requests``:
    pod name -> the sum of its containers' requests (needed for a
    utilization target)."""
    if not usage:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    total = sum(usage.values(), Decimal(0))
    average = total / len(usage)
    if target_utilization is not None:
        missing = [name for name in usage if not requests.get(name)]
        if missing:
            raise MetricError(f"missing request for the resource in pod {sorted(missing)[0]}")
        requested = sum((requests[name] for name in usage), Decimal(0))
        utilization = int(total * 100 / requested)
        ratio = utilization / target_utilization
        return Proposal(_replicas(ratio, len(usage), current_replicas), utilization, average)
    if target_average is None or target_average <= 0:
        raise MetricError("no target")
    ratio = float(average / target_average)
    return Proposal(_replicas(ratio, len(usage), current_replicas), None, average)


def _replicas(ratio: float, ready_pods: int, current: int) -> int:
    if abs(1.0 - ratio) <= TOLERANCE:
        return current
    return math.ceil(ratio * ready_pods)


@dataclass(frozen=True)
class Policy:
    type: str  # "Pods" or "Percent"
    value: int
    period_seconds: int


@dataclass(frozen=True)
class Rules:
    stabilization_window_seconds: int
    select_policy: str  # "Max", "Min" or "Disabled"
    policies: tuple[Policy, ...]

    @classmethod
    def of(cls, rules: Any) -> Rules:
        """From a (defaulted) HPAScalingRules message."""
        return cls(
            rules.stabilization_window_seconds,
            rules.select_policy,
            tuple(Policy(p.type, p.value, p.period_seconds) for p in rules.policies),
        )


@dataclass
class Behavior:
    """One autoscaler's memory: its recent recommendations and scale events."""

    recommendations: list[tuple[float, int]] = field(default_factory=list)
    # (time, replicas changed by): positive up, negative down
    events: list[tuple[float, int]] = field(default_factory=list)

    def stabilize(self, now: float, desired: int, current: int, up: Rules, down: Rules) -> int:
        """Kubernetes' stabilizeRecommendationWithBehaviors."""
        if not self.recommendations:
            self.recommendations.append((now, current))
        up_cutoff = now - up.stabilization_window_seconds
        down_cutoff = now - down.stabilization_window_seconds
        up_rec = min([desired] + [r for t, r in self.recommendations if t > up_cutoff])
        down_rec = max([desired] + [r for t, r in self.recommendations if t > down_cutoff])
        keep = min(up_cutoff, down_cutoff)
        self.recommendations = [(t, r) for t, r in self.recommendations if t > keep]
        self.recommendations.append((now, desired))
        return min(max(current, up_rec), down_rec)

    def _changed(self, now: float, period: int, sign: int) -> int:
        return sum(
            abs(change) for t, change in self.events if t > now - period and change * sign > 0
        )

    def limit(
        self, now: float, desired: int, current: int, low: int, high: int, up: Rules, down: Rules
    ) -> tuple[int, str]:
        """Kubernetes' convertDesiredReplicasWithBehaviorRate: the policies'
        limit on this change, then min and max. Returns (replicas, reason)."""
        if desired > current:
            limit = max(self._up_limit(now, current, up), current)
            allowed, reason = (limit, "ScaleUpLimit") if limit < high else (high, "TooManyReplicas")
            return (allowed, reason) if desired > allowed else (desired, "")
        if desired < current:
            limit = min(self._down_limit(now, current, down), current)
            allowed, reason = (limit, "ScaleDownLimit") if limit > low else (low, "TooFewReplicas")
            return (allowed, reason) if desired < allowed else (desired, "")
        return desired, ""

    def _up_limit(self, now: float, current: int, rules: Rules) -> int:
        if rules.select_policy == "Disabled":
            return current
        proposals = []
        for p in rules.policies:
            start = current - self._changed(now, p.period_seconds, 1)
            start += self._changed(now, p.period_seconds, -1)
            if p.type == "Pods":
                proposals.append(start + p.value)
            else:
                proposals.append(math.ceil(start * (1 + p.value / 100)))
        return (min if rules.select_policy == "Min" else max)(proposals, default=current)

    def _down_limit(self, now: float, current: int, rules: Rules) -> int:
        if rules.select_policy == "Disabled":
            return current
        proposals = []
        for p in rules.policies:
            start = current + self._changed(now, p.period_seconds, -1)
            start -= self._changed(now, p.period_seconds, 1)
            if p.type == "Pods":
                proposals.append(start - p.value)
            else:
                proposals.append(int(start * (1 - p.value / 100)))
        return (max if rules.select_policy == "Min" else min)(proposals, default=current)

    def scaled(self, now: float, old: int, new: int, longest_period: int) -> None:
        self.events = [(t, c) for t, c in self.events if t > now - longest_period]
        self.events.append((now, new - old))
