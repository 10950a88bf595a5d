"""The control-plane host with the scheduler and the node lifecycle
controller against a real in-process API server and hollow nodes."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from shoal import errors
from shoal.client import Client
from shoal.controlplane import (
    ControlPlane,
    ControlPlaneError,
    ControlPlaneOptions,
    select_controllers,
)
from shoal.manifest import from_dict
from shoal.plugins.controllers.nodelifecycle import NodeLifecycleController

from tests.controlplane.hollow import HollowNode
from tests.integration.helpers import eventually
from tests.scheduler.builders import pod

FAST = ControlPlaneOptions(
    lease_duration=1.0, renew_deadline=0.6, retry_period=0.1, node_monitor_grace_period=1.0
)


@contextlib.asynccontextmanager
async def control_plane(
    client: Client, names: Sequence[str], identity: str, **kwargs: Any
) -> AsyncIterator[ControlPlane]:
    plane = ControlPlane(client, names, identity=identity, options=FAST, **kwargs)
    plane.start()
    try:
        yield plane
    finally:
        await plane.stop()


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (None, ["a", "b", "c"]),
        ("*", ["a", "b", "c"]),
        ("-", []),
        ("b,a", ["a", "b"]),
        ("*,-b", ["a", "c"]),
    ],
)
def test_select_controllers(names: Any, expected: list[str]) -> None:
    assert select_controllers(["a", "b", "c"], names) == expected


def test_unknown_controller_is_a_clear_error() -> None:
    with pytest.raises(ControlPlaneError, match="unknown controller\\(s\\) nope; available: a, b"):
        select_controllers(["a", "b"], "a,nope")


async def scheduled_events(client: Client) -> Counter[str]:
    events = (await client.list("Event", "default", field_selector="reason=Scheduled")).items
    return Counter(e.involved_object.name for e in events)


async def test_two_schedulers_with_leader_election_never_double_bind(shoal_client: Client) -> None:
    c = shoal_client
    for i in range(3):
        await HollowNode(c, f"n{i}").start()
    async with control_plane(c, ["scheduler"], "first") as first:
        await eventually(lambda: _holder(c, "shoal-scheduler", "first"))
        async with control_plane(c, ["scheduler"], "second"):
            for i in range(20):
                await c.create(pod(f"p{i}", cpu="100m"))
            await eventually(lambda: _all_bound(c, 20))
            # The standby takes over when the leader goes; later pods still land.
            await first.stop()
            await eventually(lambda: _holder(c, "shoal-scheduler", "second"), timeout=30)
            for i in range(20, 30):
                await c.create(pod(f"p{i}", cpu="100m"))
            await eventually(lambda: _all_bound(c, 30))
    counts = await eventually(lambda: _scheduled_counts(c, 30))
    assert set(counts.values()) == {1}, counts


async def _holder(client: Client, lease: str, identity: str) -> bool:
    try:
        found = await client.get("Lease", lease, "shoal-system")
    except errors.NotFoundError:
        return False
    return found.spec.holder_identity == identity


async def _all_bound(client: Client, count: int) -> bool:
    pods = (await client.list("Pod", "default")).items
    return len(pods) == count and all(p.spec.node_name for p in pods)


async def _scheduled_counts(client: Client, count: int) -> Counter[str] | None:
    counts = await scheduled_events(client)
    return counts if len(counts) == count else None


def tolerating(seconds: int | None) -> list[dict[str, Any]]:
    toleration: dict[str, Any] = {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
    }
    if seconds is not None:
        toleration["tolerationSeconds"] = seconds
    return [toleration]


async def test_a_node_that_stops_renewing_turns_unknown_is_tainted_and_its_pods_evicted(
    shoal_client: Client,
) -> None:
    c = shoal_client
    dying = await HollowNode(c, "dying").start()
    await HollowNode(c, "healthy").start()
    await c.create(pod("brief", node_name="dying", tolerations=tolerating(2)))
    await c.create(pod("forever", node_name="dying", tolerations=tolerating(None)))
    async with control_plane(c, ["nodelifecycle"], "cm"):
        await asyncio.sleep(0)  # let it see the nodes alive before one dies
        await dying.die()

        async def tainted() -> Any:
            node = await c.get("Node", "dying")
            taints = [t for t in node.spec.taints if t.key == "node.kubernetes.io/unreachable"]
            return taints and node

        node = await eventually(tainted, timeout=30)
        ready = next(cond for cond in node.status.conditions if cond.type == "Ready")
        assert (ready.status, ready.reason) == ("Unknown", "NodeStatusUnknown")
        assert node.spec.taints[0].effect == "NoExecute"
        added = node.spec.taints[0].time_added.ToNanoseconds() / 1e9

        async def evicted() -> Any:
            brief = await c.get("Pod", "brief")
            return brief.metadata.HasField("deletion_timestamp") and brief

        brief = await eventually(evicted, timeout=30)
        # Why it goes, written first (a Job's pod failure policy reads it).
        [why] = [x for x in brief.status.conditions if x.type == "DisruptionTarget"]
        assert (why.status, why.reason, why.message) == (
            "True",
            "DeletionByTaintManager",
            "Taint manager: deleting due to NoExecute taint",
        )
        # Evicted no sooner than its two seconds of toleration allow.
        asked = (
            brief.metadata.deletion_timestamp.seconds - brief.metadata.deletion_grace_period_seconds
        )
        assert asked >= int(added) + 1
        forever = await c.get("Pod", "forever")
        assert not forever.metadata.HasField("deletion_timestamp")
        healthy = await c.get("Node", "healthy")
        assert not healthy.spec.taints

        await dying.come_back()

        async def untainted() -> bool:
            return not (await c.get("Node", "dying")).spec.taints

        await eventually(untainted, timeout=30)


async def test_a_node_without_status_yet_is_not_tainted_until_its_grace_passes(
    shoal_client: Client,
) -> None:
    """An agent registers its Node, then posts its first status; a monitor
    pass between the two tainted the node unreachable at once (a thousand
    hollow nodes starting together all got the taint, and write conflicts)."""
    c = shoal_client
    await c.create(from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "fresh"}}))
    controller = NodeLifecycleController(c, grace_period=0.0)
    watched = (controller.nodes, controller.leases, controller.pods)
    for informer in watched:
        informer.start()
    try:
        for informer in watched:
            await informer.wait_synced()
        await controller.monitor()  # first sight: no status, nothing to judge
        assert not (await c.get("Node", "fresh")).spec.taints

        async def marked() -> Any:
            await controller.monitor()  # the grace (none) has passed without a status
            node = await c.get("Node", "fresh")
            return node.spec.taints and node

        node = await eventually(marked, timeout=30)
        assert [t.key for t in node.spec.taints] == ["node.kubernetes.io/unreachable"]
        ready = next(cond for cond in node.status.conditions if cond.type == "Ready")
        assert ready.status == "Unknown"
    finally:
        for informer in watched:
            await informer.stop()


async def test_evicted_pods_of_a_replica_set_are_replaced_on_healthy_nodes(
    shoal_client: Client,
) -> None:
    c = shoal_client
    nodes = [await HollowNode(c, f"n{i}").start() for i in range(3)]
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "containers": [{"name": "web", "image": "busybox:1.36"}],
            "tolerations": tolerating(2),
        },
    }
    rs = from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": template,
            },
        }
    )
    async with control_plane(c, ["replicaset", "scheduler", "nodelifecycle"], "cm"):
        await c.create(rs)

        async def spread() -> list[Any] | None:
            pods = (await c.list("Pod", "default", label_selector="app=web")).items
            placed = [p for p in pods if p.spec.node_name]
            return placed if len(placed) == 3 else None

        placed = await eventually(spread, timeout=10)
        victim = placed[0].spec.node_name
        await next(n for n in nodes if n.name == victim).die()

        async def replaced() -> list[Any] | None:
            pods = (await c.list("Pod", "default", label_selector="app=web")).items
            alive = [p for p in pods if not p.metadata.HasField("deletion_timestamp")]
            ok = len(alive) == 3 and all(p.spec.node_name not in ("", victim) for p in alive)
            return alive if ok else None

        alive = await eventually(replaced, timeout=10)
        assert {p.spec.node_name for p in alive} <= {n.name for n in nodes} - {victim}
