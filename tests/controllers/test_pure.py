"""The pure parts of the workload controllers: surge and unavailability
arithmetic, template hashes, pod ranking, proportional scaling, conditions."""

from __future__ import annotations

from typing import Any

import pytest
from shoal.api.v1 import apps_pb2, core_pb2
from shoal.plugins.controllers import deployment_util as du
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers.expectations import Expectations


def deploy(replicas: int, surge: Any, unavailable: Any) -> apps_pb2.Deployment:
    d = apps_pb2.Deployment()
    d.spec.replicas = replicas
    d.spec.strategy.type = "RollingUpdate"
    for field, value in (("max_surge", surge), ("max_unavailable", unavailable)):
        target = getattr(d.spec.strategy.rolling_update, field)
        if isinstance(value, str):
            target.string_value = value
        else:
            target.number_value = value
    return d


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "expected"),
    [
        (10, 3, 2, (3, 2)),
        (10, "25%", "25%", (3, 2)),  # surge rounds up, unavailable down
        (1, "25%", "25%", (1, 0)),
        (3, "0%", "10%", (0, 1)),  # both round to zero: unavailable becomes 1
        (4, "50%", 0, (2, 0)),
        (0, "25%", "25%", (0, 0 + 1)),
    ],
)
def test_surge_and_unavailable(
    replicas: int, surge: Any, unavailable: Any, expected: tuple[int, int]
) -> None:
    assert du.surge_and_unavailable(deploy(replicas, surge, unavailable)) == expected


@pytest.mark.parametrize(("surge", "unavailable"), [(0, 0), ("0%", "0%"), (0, "0%")])
def test_both_zero_is_invalid(surge: Any, unavailable: Any) -> None:
    with pytest.raises(du.StrategyError, match="may not both be zero"):
        du.surge_and_unavailable(deploy(5, surge, unavailable))


@pytest.mark.parametrize("bad", ["lots", "-5%", "5.5%"])
def test_bad_percentages_are_named(bad: str) -> None:
    with pytest.raises(du.StrategyError, match="maxSurge"):
        du.surge_and_unavailable(deploy(5, bad, 1))


def test_max_unavailable_never_exceeds_replicas_and_is_zero_for_recreate() -> None:
    assert du.max_unavailable(deploy(2, 0, 5)) == 2
    d = deploy(5, 1, 1)
    d.spec.strategy.type = "Recreate"
    assert du.max_unavailable(d) == 0 and du.max_surge(d) == 0


def template(image: str, **labels: str) -> core_pb2.PodTemplateSpec:
    t = core_pb2.PodTemplateSpec()
    t.metadata.labels.update({"app": "web", **labels})
    t.spec.containers.add(name="main", image=image)
    return t


def test_template_hash_is_stable_safe_and_ignores_its_own_label() -> None:
    h = du.template_hash(template("web:1"))
    assert h == du.template_hash(template("web:1"))
    assert h == du.template_hash(template("web:1", **{du.HASH_LABEL: h}))
    assert h != du.template_hash(template("web:2"))
    assert h != du.template_hash(template("web:1"), collision_count=1)
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789") and 1 <= len(h) <= 10
    assert du.equal_ignoring_hash(template("web:1", **{du.HASH_LABEL: h}), template("web:1"))


def test_fnv32a_matches_the_reference_values() -> None:
    assert du.fnv32a(b"") == 0x811C9DC5
    assert du.fnv32a(b"a") == 0xE40C292C


def test_new_rs_replicas_respects_surge() -> None:
    d = deploy(10, 3, 2)
    old, new = apps_pb2.ReplicaSet(), apps_pb2.ReplicaSet()
    old.spec.replicas = old.status.replicas = 10
    assert du.new_rs_replicas(d, [old, new], new) == 3
    old.spec.replicas = 8  # scaled down, pods not gone yet: still counts 10
    assert du.new_rs_replicas(d, [old, new], new) == 3
    old.status.replicas = 8
    assert du.new_rs_replicas(d, [old, new], new) == 5


def test_proportional_sizes() -> None:
    assert du.proportional_sizes([6, 4], 5) == [9, 6]
    assert du.proportional_sizes([6, 4], -5) == [3, 2]
    assert sum(du.proportional_sizes([3, 3, 3], 4)) == 13
    assert du.proportional_sizes([1, 1], -10) == [0, 0]


def pod(
    name: str,
    *,
    node: str = "",
    phase: str = "Running",
    ready: bool = True,
    ready_since: int = 100,
    created: int = 100,
    restarts: int = 0,
) -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name = name
    p.metadata.creation_timestamp.seconds = created
    p.spec.node_name = node
    p.status.phase = phase
    c = p.status.conditions.add(type="Ready", status="True" if ready else "False")
    c.last_transition_time.seconds = ready_since
    p.status.container_statuses.add(name="main", restart_count=restarts)
    return p


def test_pods_are_ranked_for_deletion_as_kubernetes_does() -> None:
    pods = [
        pod("old-ready", node="n", ready_since=10, created=1),
        pod("unscheduled", phase="Pending", ready=False),
        pod("pending", node="n", phase="Pending", ready=False),
        pod("not-ready", node="n", ready=False),
        pod("new-ready", node="n", ready_since=50, created=1),
        pod("restarty", node="n", ready_since=10, created=1, restarts=5),
        pod("newest", node="n", ready_since=10, created=9),
    ]
    order = [p.metadata.name for p in sorted(pods, key=podutil.deletion_rank)]
    assert order == [
        "unscheduled",
        "pending",
        "not-ready",
        "new-ready",
        "restarty",
        "newest",
        "old-ready",
    ]
    assert [p.metadata.name for p in podutil.pods_to_delete(pods, 2)] == ["unscheduled", "pending"]


def test_availability_waits_min_ready_seconds() -> None:
    p = pod("p", ready_since=100)
    assert podutil.is_available(p, 0, now=100)
    assert not podutil.is_available(p, 10, now=105)
    assert podutil.is_available(p, 10, now=110)
    assert podutil.seconds_until_available(p, 10, now=105) == 5
    assert not podutil.is_available(pod("q", ready=False), 0)


def test_conditions_keep_transition_time_while_status_holds() -> None:
    status = apps_pb2.DeploymentStatus()
    du.set_condition(status, "Progressing", "True", "NewReplicaSetCreated", "a")
    first = status.conditions[0].last_transition_time.seconds
    status.conditions[0].last_transition_time.seconds = first - 100
    du.set_condition(status, "Progressing", "True", "ReplicaSetUpdated", "b")
    [c] = status.conditions
    assert (c.reason, c.last_transition_time.seconds) == ("ReplicaSetUpdated", first - 100)
    du.set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded", "c")
    assert status.conditions[0].last_transition_time.seconds >= first


def test_progress_deadline() -> None:
    d = deploy(2, 1, 0)
    d.spec.progress_deadline_seconds = 10
    status = apps_pb2.DeploymentStatus(replicas=2, updated_replicas=2)
    du.set_condition(status, "Progressing", "True", "ReplicaSetUpdated", "x")
    stamp = status.conditions[0].last_update_time.seconds
    before = apps_pb2.DeploymentStatus()
    before.CopyFrom(status)
    assert du.progress(d, before, status, None, now=stamp + 5) == pytest.approx(6)
    assert du.progress(d, before, status, None, now=stamp + 11) is None
    assert du.get_condition(status, "Progressing").reason == "ProgressDeadlineExceeded"


def test_expectations() -> None:
    e = Expectations(ttl=300)
    assert e.satisfied("k")
    e.expect_creations("k", 2)
    e.creation_observed("k")
    assert not e.satisfied("k")
    e.creation_observed("k")
    assert e.satisfied("k")
    e.expect_deletions("k", {"ns/a"})
    assert not e.satisfied("k")
    e.deletion_observed("k", "ns/a")
    assert e.satisfied("k")
    e.expect_creations("k", 1)
    e.ttl = -1
    assert e.satisfied("k")  # an expired record no longer blocks
