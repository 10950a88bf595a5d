"""The scheduling queue's parked (unschedulable) pods: each is tried again
UNSCHEDULABLE_FLUSH seconds after it was parked, oldest first, a pod parked
again waits its full time from then, and a pod that changes or is deleted
leaves the parked ones. (The flush runs on every pop: it looks at the
expired pods only, not at every parked one.)"""

from __future__ import annotations

import asyncio

from shoal import clock
from shoal.plugins.scheduler.queue import UNSCHEDULABLE_FLUSH, SchedulingQueue

from tests.scheduler.builders import pod

TIMEOUT = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def _park(queue: SchedulingQueue, name: str) -> None:
    queue.add(pod(name))
    queued = await asyncio.wait_for(queue.pop(), TIMEOUT)
    assert queued.pod.metadata.name == name
    queue.requeue_unschedulable(queued)


async def _pop_ready(queue: SchedulingQueue) -> list[str]:
    names = []
    while queue.pending()["active"] or queue.pending()["backoff"]:
        queued = await asyncio.wait_for(queue.pop(), TIMEOUT)
        names.append(queued.pod.metadata.name)
        queue.done(queued.key)
    return names


async def test_parked_pods_come_back_oldest_first_after_their_time() -> None:
    fake = Clock()
    with clock.install(lambda: fake.now, fake.monotonic):
        queue = SchedulingQueue(initial_backoff=0.0, max_backoff=0.0)
        for i, name in enumerate(["a", "b", "c"]):
            fake.now = 1000.0 + i * 10
            await _park(queue, name)
        assert queue.pending()["unschedulable"] == 3
        fake.now = 1000.0 + UNSCHEDULABLE_FLUSH + 10  # a and b are due, c is not
        queue.add(pod("trigger"))  # a pop runs the flush
        assert await _pop_ready(queue) == ["trigger", "a", "b"]
        assert queue.pending()["unschedulable"] == 1
        fake.now += 10
        queue.add(pod("trigger2"))
        assert await _pop_ready(queue) == ["trigger2", "c"]
        assert [queue.pending()[k] for k in ("active", "backoff", "unschedulable")] == [0, 0, 0]


async def test_a_pod_parked_again_waits_from_then_and_a_changed_one_leaves() -> None:
    fake = Clock()
    with clock.install(lambda: fake.now, fake.monotonic):
        queue = SchedulingQueue(initial_backoff=0.0, max_backoff=0.0)
        await _park(queue, "a")
        fake.now += 30
        await _park(queue, "b")
        fake.now += 10
        queue.add(pod("a"))  # changed: tried again at once
        assert await _pop_ready(queue) == ["a"]
        await _park(queue, "a")  # parked again, now the newest
        fake.now += UNSCHEDULABLE_FLUSH - 10  # b is due (parked 60 s ago), a is not (50 s)
        queue.add(pod("trigger"))
        assert await _pop_ready(queue) == ["trigger", "b"]
        queue.delete("default/a")
        assert queue.pending()["unschedulable"] == 0
