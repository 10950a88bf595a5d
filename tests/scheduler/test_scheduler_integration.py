"""The scheduler against a real in-process API server, with hollow nodes
(Node objects this test registers itself)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from shoal.client import Client
from shoal.plugins.scheduler.scheduler import Scheduler

from tests.integration.helpers import eventually
from tests.scheduler.builders import node, pod


@contextlib.asynccontextmanager
async def running(scheduler: Any) -> AsyncIterator[Any]:
    task = asyncio.create_task(scheduler.run())
    try:
        yield scheduler
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest_asyncio.fixture
async def scheduler(shoal_client: Client) -> AsyncIterator[Scheduler]:
    async with running(Scheduler(shoal_client, initial_backoff=0.05)) as s:
        yield s


async def events_for(client: Client, name: str, reason: str) -> list[Any]:
    listed = await client.list(
        "Event", "default", field_selector=f"involvedObject.name={name},reason={reason}"
    )
    return listed.items


def condition(p: Any, kind: str) -> Any:
    return next((c for c in p.status.conditions if c.type == kind), None)


async def test_pod_that_fits_nowhere_waits_then_lands_when_a_node_joins(
    shoal_client: Client, scheduler: Scheduler
) -> None:
    c = shoal_client
    await c.create(node("small-1", cpu="1"))
    await c.create(node("small-2", cpu="1"))
    await c.create(
        node("gpu", cpu="8", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    )
    await c.create(pod("web", cpu="2"))

    warnings = await eventually(lambda: events_for(c, "web", "FailedScheduling"))
    assert warnings[0].type == "Warning"
    assert warnings[0].message == (
        "0/3 nodes are available: 2 Insufficient cpu, "
        "1 node(s) had untolerated taint {dedicated: gpu}. "
        "preemption: 0/3 nodes are available: 2 No preemption victims found for incoming pod, "
        "1 Preemption is not helpful for scheduling."
    )

    async def unschedulable() -> Any:
        cond = condition(await c.get("Pod", "web"), "PodScheduled")
        return cond is not None and cond.status == "False" and cond

    cond = await eventually(unschedulable)
    assert cond.reason == "Unschedulable"
    assert cond.message.startswith("0/3 nodes are available")

    await c.create(node("big", cpu="4"))

    async def bound() -> Any:
        p = await c.get("Pod", "web")
        return p.spec.node_name and p

    placed = await eventually(bound, timeout=30)
    assert placed.spec.node_name == "big"
    scheduled = await eventually(lambda: events_for(c, "web", "Scheduled"))
    assert scheduled[0].message == "Successfully assigned default/web to big"

    async def condition_true() -> bool:
        cond = condition(await c.get("Pod", "web"), "PodScheduled")
        return cond is not None and cond.status == "True"

    await eventually(condition_true)


async def test_back_to_back_pods_do_not_share_room(
    shoal_client: Client, scheduler: Scheduler
) -> None:
    """The assumed-pod cache: ten pods of one cpu on ten one-cpu nodes land
    one per node even though they are decided faster than binds are seen."""
    for i in range(10):
        await shoal_client.create(node(f"n{i}", cpu="1"))
    await eventually(lambda: len(scheduler.cache.nodes) == 10)
    for i in range(10):
        await shoal_client.create(pod(f"p{i}", cpu="1"))

    async def all_bound() -> list[str] | None:
        pods = (await shoal_client.list("Pod", "default")).items
        names = [p.spec.node_name for p in pods]
        return names if len(names) == 10 and all(names) else None

    names = await eventually(all_bound)
    assert sorted(names) == sorted(f"n{i}" for i in range(10))


async def test_pod_is_placed_when_a_bound_pod_goes(
    shoal_client: Client, scheduler: Scheduler
) -> None:
    await shoal_client.create(node("only", cpu="1"))
    await shoal_client.create(pod("first", cpu="1"))
    await eventually(lambda: scheduler.bound == 1)
    await shoal_client.create(pod("second", cpu="1"))
    await eventually(lambda: events_for(shoal_client, "second", "FailedScheduling"))
    await shoal_client.delete("Pod", "first", grace_period_seconds=0)

    async def second_bound() -> bool:
        return (await shoal_client.get("Pod", "second")).spec.node_name == "only"

    await eventually(second_bound, timeout=30)


async def test_bind_with_a_stale_version_binds_nothing(shoal_client: Client) -> None:
    """Two schedulers deciding the same pod: only one bind lands."""
    await shoal_client.create(node("a"))
    await shoal_client.create(node("b"))
    created = await shoal_client.create(pod("web"))
    one, two = Scheduler(shoal_client), Scheduler(shoal_client)
    from shoal.plugins.scheduler.queue import QueuedPod

    first = await one.bind_pod(QueuedPod("default/web", created), "a")
    second = await two.bind_pod(QueuedPod("default/web", created), "b")
    assert first is not None  # the pod it bound; the stored pod says where:
    assert second is None and two.bind_conflicts == 1
    assert (await shoal_client.get("Pod", "web")).spec.node_name == "a"
