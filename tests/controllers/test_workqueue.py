"""The work queue: deduplication, requeue while processing, backoff, shutdown."""

from __future__ import annotations

import asyncio

import pytest
from shoal.workqueue import QueueShutDown, WorkQueue


async def test_a_key_added_twice_while_waiting_is_queued_once() -> None:
    q = WorkQueue()
    q.add("a")
    q.add("b")
    q.add("a")
    assert q.len() == 2
    assert [await q.get(), await q.get()] == ["a", "b"]


async def test_a_key_added_while_processing_comes_back_after_done() -> None:
    q = WorkQueue()
    q.add("a")
    key = await q.get()
    q.add("a")
    assert q.len() == 0  # not handed to a second worker meanwhile
    q.done(key)
    assert q.len() == 1
    assert await q.get() == "a"


async def test_done_without_a_new_add_does_not_requeue() -> None:
    q = WorkQueue()
    q.add("a")
    q.done(await q.get())
    assert q.len() == 0


async def test_get_waits_for_an_add() -> None:
    q = WorkQueue()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.add("x")
    assert await asyncio.wait_for(getter, 1) == "x"


async def test_add_after_delays_the_key() -> None:
    q = WorkQueue()
    loop = asyncio.get_running_loop()
    start = loop.time()
    q.add_after("k", 0.05)
    assert q.len() == 0
    assert await asyncio.wait_for(q.get(), 1) == "k"
    assert loop.time() - start >= 0.04


def test_rate_limited_backoff_doubles_per_key_up_to_the_cap() -> None:
    q = WorkQueue(base_delay=0.005, max_delay=1.0)
    delays = []
    for _ in range(10):
        delays.append(q.when("k"))
        q._failures["k"] = q.num_requeues("k") + 1
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[-1] == 1.0
    assert q.when("other") == 0.005
    q.forget("k")
    assert q.when("k") == 0.005


async def test_add_rate_limited_counts_requeues() -> None:
    q = WorkQueue(base_delay=0.001)
    q.add_rate_limited("k")
    q.add_rate_limited("k")
    assert q.num_requeues("k") == 2
    assert await asyncio.wait_for(q.get(), 1) == "k"


async def test_shut_down_wakes_getters_and_drops_timers() -> None:
    q = WorkQueue()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add_after("late", 0.01)
    q.shut_down()
    with pytest.raises(QueueShutDown):
        await asyncio.wait_for(getter, 1)
    q.add("new")
    assert q.len() == 0


async def test_shut_down_lets_workers_drain_what_is_queued() -> None:
    q = WorkQueue()
    q.add("a")
    q.shut_down()
    assert await q.get() == "a"
    with pytest.raises(QueueShutDown):
        await q.get()


async def test_a_cancelled_getter_passes_its_wakeup_on() -> None:
    q = WorkQueue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("a")
    first.cancel()
    assert await asyncio.wait_for(second, 1) == "a"
