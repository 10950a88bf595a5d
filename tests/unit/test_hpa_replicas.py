"""The horizontal pod autoscaler's arithmetic: replicas from usage, the
tolerance, stabilization windows and scaling policies, as Kubernetes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from shoal.plugins.controllers.hpa_replicas import (
    Behavior,
    MetricError,
    Policy,
    Rules,
    resource_proposal,
)

D = Decimal
UP = Rules(0, "Max", (Policy("Pods", 4, 15), Policy("Percent", 100, 15)))
DOWN = Rules(300, "Max", (Policy("Percent", 100, 15),))


def test_utilization_over_target_scales_by_the_ratio() -> None:
    usage = {"a": D("0.4"), "b": D("0.4")}  # 400m each of 200m requested: 200%
    got = resource_proposal(2, usage, {"a": D("0.2"), "b": D("0.2")}, target_utilization=50)
    assert (got.replicas, got.utilization) == (8, 200)


def test_within_tolerance_keeps_the_current_replicas() -> None:
    usage = {"a": D("0.105")}  # 105% of a 50% target's double: ratio 1.05
    got = resource_proposal(3, usage, {"a": D("0.2")}, target_utilization=50)
    assert got.replicas == 3 and got.utilization == 52


def test_average_value_target() -> None:
    usage = {"a": D(300), "b": D(100)}
    assert resource_proposal(2, usage, {}, target_average=D(100)).replicas == 4


def test_a_pod_without_a_request_or_no_metrics_is_an_error() -> None:
    with pytest.raises(MetricError):
        resource_proposal(1, {"a": D(1)}, {"a": D(0)}, target_utilization=50)
    with pytest.raises(MetricError):
        resource_proposal(1, {}, {}, target_utilization=50)


def test_scale_down_waits_for_the_highest_recommendation_of_the_window() -> None:
    behavior = Behavior()
    assert behavior.stabilize(0.0, 2, 5, UP, DOWN) == 5  # first sight: current is remembered
    assert behavior.stabilize(100.0, 1, 5, UP, DOWN) == 5
    assert behavior.stabilize(200.0, 3, 5, UP, DOWN) == 5
    assert behavior.stabilize(301.0, 1, 5, UP, DOWN) == 3  # 5 has left the window
    assert behavior.stabilize(501.0, 1, 3, UP, DOWN) == 1


def test_scale_up_is_not_delayed_by_default() -> None:
    assert Behavior().stabilize(0.0, 9, 3, UP, DOWN) == 9


def test_scale_up_policies_take_the_larger_change_per_period() -> None:
    behavior = Behavior()
    # from 2: Pods 4 -> 6, Percent 100 -> 4; Max picks 6
    assert behavior.limit(0.0, 20, 2, 1, 10, UP, DOWN) == (6, "ScaleUpLimit")
    behavior.scaled(0.0, 2, 6, 15)
    # within the same period the change already made counts: from 2 again
    assert behavior.limit(5.0, 20, 6, 1, 10, UP, DOWN) == (6, "ScaleUpLimit")
    # after the period the limit is from 6: Pods -> 10, Percent -> 12; max 10 wins
    assert behavior.limit(16.0, 20, 6, 1, 10, UP, DOWN) == (10, "TooManyReplicas")


def test_min_select_policy_and_disabled() -> None:
    behavior = Behavior()
    up = Rules(0, "Min", UP.policies)
    assert behavior.limit(0.0, 20, 2, 1, 10, up, DOWN) == (4, "ScaleUpLimit")
    off = Rules(0, "Disabled", ())
    assert behavior.limit(0.0, 20, 2, 1, 10, off, DOWN) == (2, "ScaleUpLimit")


def test_scale_down_policy_and_min_replicas() -> None:
    down = Rules(0, "Max", (Policy("Pods", 1, 60),))
    assert Behavior().limit(0.0, 1, 5, 1, 10, UP, down) == (4, "ScaleDownLimit")
    assert Behavior().limit(0.0, 0, 2, 2, 10, UP, DOWN) == (2, "TooFewReplicas")
