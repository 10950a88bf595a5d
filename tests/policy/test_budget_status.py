"""The disruption controller's arithmetic, without a server."""

from __future__ import annotations

from typing import Any

import pytest
from shoal.plugins.controllers.disruption import budget_status, desired_healthy

from tests.integration.helpers import obj

NOW = 1_000_000.0


def spec(**fields: Any) -> Any:
    return obj({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "b", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "a"}}, **fields},
    })  # fmt: skip


def ready_pod(name: str, ready: bool = True, phase: str = "Running") -> Any:
    p = obj({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "a"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    })  # fmt: skip
    p.status.phase = phase
    p.status.conditions.add(type="Ready", status="True" if ready else "False")
    return p


@pytest.mark.parametrize(
    ("fields", "expected", "desired"),
    [
        ({"minAvailable": 2}, 5, 2),
        ({"minAvailable": "50%"}, 5, 3),  # rounded up
        ({"maxUnavailable": 1}, 5, 4),
        ({"maxUnavailable": "30%"}, 5, 3),  # 1.5 rounded up to 2 unavailable
        ({"maxUnavailable": 9}, 5, 0),
        ({}, 5, 0),
    ],
)
def test_desired_healthy(fields: dict[str, Any], expected: int, desired: int) -> None:
    assert desired_healthy(spec(**fields).spec, expected) == desired


def test_status_counts_ready_pods_and_recent_disruptions() -> None:
    pdb = spec(minAvailable=1)
    pdb.status.disrupted_pods["p1"].seconds = int(NOW) - 10  # evicted, still there
    pdb.status.disrupted_pods["gone"].seconds = int(NOW) - 10  # pod no longer exists
    pods = [ready_pod("p1"), ready_pod("p2"), ready_pod("p3", ready=False),
            ready_pod("done", phase="Succeeded")]  # fmt: skip
    status = budget_status(pdb, pods, NOW)
    assert (status.expected_pods, status.current_healthy, status.desired_healthy) == (3, 1, 1)
    assert status.disruptions_allowed == 0
    assert list(status.disrupted_pods) == ["p1"]
    condition = status.conditions[0]
    assert (condition.status, condition.reason) == ("False", "InsufficientPods")


def test_the_condition_names_the_generation_it_was_set_for() -> None:
    # Kubernetes' UpdateDisruptionAllowedCondition: observedGeneration on the condition
    pdb = spec(maxUnavailable=1)
    pdb.metadata.generation = 3
    status = budget_status(pdb, [ready_pod("p1"), ready_pod("p2")], NOW)
    [condition] = status.conditions
    assert (condition.type, condition.status, condition.reason) == (
        "DisruptionAllowed", "True", "SufficientPods"
    )  # fmt: skip
    assert condition.observed_generation == status.observed_generation == 3


def test_old_disruptions_expire() -> None:
    pdb = spec(maxUnavailable=1)
    pdb.status.disrupted_pods["p1"].seconds = int(NOW) - 500
    status = budget_status(pdb, [ready_pod("p1"), ready_pod("p2")], NOW)
    assert status.disruptions_allowed == 1 and not status.disrupted_pods


def test_max_unavailable_counts_the_controllers_scale_not_the_pods() -> None:
    """An evicted pod still terminating and its replacement are one expected
    pod: with 4 replicas and maxUnavailable 2, three Ready pods left allow
    one more disruption (counting 5 pods allowed none, and a drain's second
    concurrent eviction was refused)."""
    pdb = spec(maxUnavailable=2)
    evicted = ready_pod("p1")
    evicted.metadata.deletion_timestamp.seconds = int(NOW)
    pods = [evicted, ready_pod("p2"), ready_pod("p3"), ready_pod("p4"),
            ready_pod("p5", ready=False, phase="Pending")]  # fmt: skip
    status = budget_status(pdb, pods, NOW, scale=4)
    assert (status.expected_pods, status.desired_healthy, status.current_healthy) == (4, 2, 3)
    assert status.disruptions_allowed == 1
    counted = budget_status(spec(minAvailable=2), pods, NOW, scale=4)
    assert counted.expected_pods == 5  # a number minAvailable counts the unfinished pods
