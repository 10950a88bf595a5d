"""The Controller base: informer changes become keys, failures retry,
a returned delay requeues, cancellation stops everything."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from shoal.client import Client
from shoal.controller import Controller

from tests.integration.helpers import eventually, pod


class Recorder(Controller):
    name = "recorder"

    def __init__(self, client: Client, fail_first: int = 0, again: float | None = None) -> None:
        super().__init__(client, workers=2)
        self.pods = self.watch("Pod")
        self.seen: list[str] = []
        self.fail_first, self.again = fail_first, again

    async def reconcile(self, key: Any) -> float | None:
        self.seen.append(key)
        if self.fail_first:
            self.fail_first -= 1
            raise RuntimeError("not yet")
        return self.again


@contextlib.asynccontextmanager
async def running(controller: Controller):  # type: ignore[no-untyped-def]
    task = asyncio.create_task(controller.run())
    await asyncio.wait_for(controller.ready.wait(), 5)
    try:
        yield controller
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_changes_become_reconciles_of_their_key(shoal_client: Client) -> None:
    await shoal_client.create(pod("before"))
    async with running(Recorder(shoal_client)) as c:
        await eventually(lambda: "default/before" in c.seen)
        await shoal_client.create(pod("after"))
        await eventually(lambda: "default/after" in c.seen)
        await shoal_client.delete("Pod", "after")
        await eventually(lambda: c.seen.count("default/after") >= 2)


async def test_a_failing_reconcile_is_retried_until_it_succeeds(shoal_client: Client) -> None:
    await shoal_client.create(pod("flaky"))
    async with running(Recorder(shoal_client, fail_first=3)) as c:
        await eventually(lambda: c.seen.count("default/flaky") == 4)
        await eventually(lambda: c.queue.num_requeues("default/flaky") == 0)


async def test_a_returned_delay_reconciles_again(shoal_client: Client) -> None:
    await shoal_client.create(pod("timed"))
    async with running(Recorder(shoal_client, again=0.01)) as c:
        await eventually(lambda: c.seen.count("default/timed") >= 3)


async def test_cancelling_run_stops_informers_and_queue(shoal_client: Client) -> None:
    c = Recorder(shoal_client)
    async with running(c):
        pass
    assert c.queue.shutting_down
    assert all(i._task is None for i in c.informers.values())
