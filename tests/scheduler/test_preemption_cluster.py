"""Preemption on hollow nodes (server, control plane, 3 nodes of 4 cpu):
a pending pod of higher priority takes the room of a lower one, budgets
steer which one, and ``preemptionPolicy: Never`` waits instead; and, with
the scheduler alone over Node objects, a stale nomination is cleared."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from shoal.agent.testing import Cluster
from shoal.api.v1 import scheduling_pb2
from shoal.client import Client
from shoal.plugins.scheduler.scheduler import Scheduler

from tests.integration.helpers import eventually, obj, pod
from tests.scheduler.builders import node
from tests.scheduler.test_scheduler_integration import running as started


def priority_class(name: str, value: int, **fields: Any) -> Any:
    pc = scheduling_pb2.PriorityClass(value=value, **fields)
    pc.metadata.name = name
    return pc


def hungry(name: str, app: str = "batch", **spec: Any) -> Any:
    """A pod that needs a whole hollow node (4 cpu)."""
    p = pod(name, labels={"app": app}, **spec)
    p.spec.containers[0].resources.requests["cpu"] = "4"
    return p


async def events(client: Client, reason: str, name: str = "") -> list[Any]:
    selector = f"reason={reason}" + (f",involvedObject.name={name}" if name else "")
    return (await client.list("Event", "default", field_selector=selector)).items


def running(p: Any) -> bool:
    return p.status.phase == "Running" and not p.metadata.HasField("deletion_timestamp")


async def fill_nodes(client: Client, apps: list[str]) -> dict[str, str]:
    """One node-sized pod per app, all running: pod name -> node."""
    for i, app in enumerate(apps):
        await client.create(hungry(f"low-{i}", app))

    async def placed() -> dict[str, str] | None:
        pods = (await client.list("pods", label_selector="app in (batch,db)")).items
        if len(pods) == len(apps) and all(running(p) for p in pods):
            return {p.metadata.name: p.spec.node_name for p in pods}
        return None

    return await eventually(placed, timeout=30)


async def watch_nominations(client: Client, name: str, seen: set[str]) -> None:
    async for event in client.watch("pods", "default", field_selector=f"metadata.name={name}"):
        if event.object is not None and event.object.status.nominated_node_name:
            seen.add(event.object.status.nominated_node_name)


async def lands(client: Client, name: str) -> Any:
    async def bound() -> Any:
        p = await client.get("pods", name)
        return running(p) and p

    return await eventually(bound, timeout=30)


async def watch_disruptions(client: Client, seen: dict[str, tuple[str, str]]) -> None:
    async for event in client.watch("pods", "default", label_selector="app=batch"):
        for c in event.object.status.conditions if event.object is not None else ():
            if c.type == "DisruptionTarget" and c.status == "True":
                seen[event.object.metadata.name] = (c.reason, c.message)


async def test_a_high_priority_pod_preempts_a_low_priority_one_and_runs(
    shoal_cluster: Cluster,
) -> None:
    client = shoal_cluster.client
    placed = await fill_nodes(client, ["batch", "batch", "batch"])
    await client.create(priority_class("high", 1000))
    nominations: set[str] = set()
    disruptions: dict[str, tuple[str, str]] = {}
    watcher = asyncio.create_task(watch_nominations(client, "urgent", nominations))
    disrupted = asyncio.create_task(watch_disruptions(client, disruptions))
    urgent = await client.create(hungry("urgent", "urgent", priorityClassName="high"))

    preempted = await eventually(lambda: events(client, "Preempted"), timeout=30)
    assert len(preempted) == 1
    victim = preempted[0].involved_object.name
    assert preempted[0].message == (
        f"Preempted by pod {urgent.metadata.uid} on node {placed[victim]}"
    )
    landed = await lands(client, "urgent")
    assert landed.spec.node_name == placed[victim]
    # The victim was told why before it was deleted, as kube-scheduler does.
    await eventually(lambda: disruptions, timeout=10)
    disrupted.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await disrupted
    assert disruptions == {
        victim: (
            "PreemptionByScheduler",
            "default-scheduler: preempting to accommodate a higher priority pod",
        )
    }
    # While it waited for the victim to go, its room was nominated.
    await eventually(lambda: nominations, timeout=10)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    assert nominations == {placed[victim]}
    # The first attempt failed and said so, without a preemption complaint.
    failed = await events(client, "FailedScheduling", "urgent")
    assert "0/3 nodes are available: 3 Insufficient cpu." in {e.message for e in failed}
    # Only the victim went; the two others still run where they were.
    left = {p.metadata.name for p in (await client.list("pods", label_selector="app=batch")).items}
    assert left == set(placed) - {victim}


async def test_a_budget_steers_preemption_to_the_pod_it_does_not_protect(
    shoal_cluster: Cluster,
) -> None:
    client = shoal_cluster.client
    await client.create(obj({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "db"},
        "spec": {"selector": {"matchLabels": {"app": "db"}}, "minAvailable": 2},
    }))  # fmt: skip
    placed = await fill_nodes(client, ["db", "batch", "db"])

    async def budget_settled() -> bool:
        s = (await client.get("pdb", "db")).status
        return (s.expected_pods, s.current_healthy, s.disruptions_allowed) == (2, 2, 0)

    await eventually(budget_settled, timeout=30)
    await client.create(priority_class("high", 1000))
    await client.create(hungry("urgent", "urgent", priorityClassName="high"))

    landed = await lands(client, "urgent")
    assert landed.spec.node_name == placed["low-1"]  # the batch pod's node
    preempted = await events(client, "Preempted")
    assert [e.involved_object.name for e in preempted] == ["low-1"]
    guarded = (await client.list("pods", label_selector="app=db")).items
    assert sorted(p.metadata.name for p in guarded if running(p)) == ["low-0", "low-2"]


async def test_preemption_policy_never_waits_instead(shoal_cluster: Cluster) -> None:
    client = shoal_cluster.client
    placed = await fill_nodes(client, ["batch", "batch", "batch"])
    await client.create(priority_class("polite", 1000, preemption_policy="Never"))
    await client.create(hungry("urgent", "urgent", priorityClassName="polite"))

    failed = await eventually(lambda: events(client, "FailedScheduling", "urgent"), timeout=30)
    assert failed[0].message == (
        "0/3 nodes are available: 3 Insufficient cpu. not eligible due to preemptionPolicy=Never."
    )
    # The decision was made (the event follows it): nobody was preempted.
    assert await events(client, "Preempted") == []
    pods = (await client.list("pods", label_selector="app=batch")).items
    assert {p.metadata.name for p in pods if running(p)} == set(placed)
    assert not (await client.get("pods", "urgent")).spec.node_name


@pytest_asyncio.fixture
async def lone_scheduler(shoal_client: Client) -> AsyncIterator[Scheduler]:
    async with started(Scheduler(shoal_client, initial_backoff=0.05)) as s:
        yield s


async def test_a_nomination_that_no_longer_holds_is_cleared(
    shoal_client: Client, lone_scheduler: Scheduler
) -> None:
    """A pending pod nominated to a node (by an earlier preemption) where no
    preemption can make room any more loses its nomination, and its held room."""
    c = shoal_client
    await c.create(node("n1", cpu="1"))
    await c.create(hungry("big"))  # 4 cpu: fits nowhere, nothing to preempt
    await eventually(lambda: events(c, "FailedScheduling", "big"))
    pending = await c.get("pods", "big")
    pending.status.nominated_node_name = "n1"
    await c.update_status(pending)
    scheduler = lone_scheduler
    await eventually(lambda: scheduler.cache.nominated_node("default/big") == "n1")
    await c.create(node("n2", cpu="1"))  # a cluster change: the pod is tried again

    async def cleared() -> bool:
        p = await c.get("pods", "big")
        return p.status.nominated_node_name == "" and not p.spec.node_name

    await eventually(cleared)
    assert scheduler.cache.nominated == {}


async def test_a_pod_shunning_lower_pods_preempts_one_and_lands_in_its_place(
    shoal_cluster: Cluster,
) -> None:
    """InterPodAffinity in the dry run: only anti-affinity keeps the pod out."""
    client = shoal_cluster.client
    for i, name in enumerate(shoal_cluster.nodes):
        await client.create(pod(f"low-{i}", labels={"app": "batch"}, node=name))

    async def all_running() -> bool:
        pods = (await client.list("pods", label_selector="app=batch")).items
        return len(pods) == 3 and all(running(p) for p in pods)

    await eventually(all_running, timeout=30)
    await client.create(priority_class("high", 1000))
    shy = pod("shy", priorityClassName="high", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": "batch"}},
            "topologyKey": "kubernetes.io/hostname"}]}})  # fmt: skip
    await client.create(shy)
    landed = await lands(client, "shy")
    preempted = await events(client, "Preempted")
    assert len(preempted) == 1
    victim = preempted[0].involved_object.name
    assert victim == f"low-{shoal_cluster.nodes.index(landed.spec.node_name)}"
    left = {p.metadata.name for p in (await client.list("pods", label_selector="app=batch")).items}
    assert left == {"low-0", "low-1", "low-2"} - {victim}
