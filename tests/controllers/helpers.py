"""Running controllers in tests, and a fake kubelet that makes pods ready."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from shoal import errors
from shoal.client import Client
from shoal.controller import Controller


@contextlib.asynccontextmanager
async def running(*controllers: Controller) -> AsyncIterator[None]:
    """Run controllers for the block; they are ready (synced) inside it."""
    tasks = [asyncio.create_task(c.run()) for c in controllers]
    try:
        await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in controllers)), 10)
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def mark_ready(pod: Any) -> Any:
    pod.status.phase = "Running"
    del pod.status.conditions[:]
    stamp = Timestamp()
    stamp.GetCurrentTime()
    stamp.nanos = 0
    for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready"):
        condition = pod.status.conditions.add(type=kind, status="True")
        condition.last_transition_time.CopyFrom(stamp)
    return pod


@contextlib.asynccontextmanager
async def fake_kubelet(client: Client, namespace: str = "") -> AsyncIterator[None]:
    """Marks every new pod Running and Ready, as an agent would once its
    containers start (no agent runs in these tests)."""

    async def loop() -> None:
        async for event in client.watch("Pod", namespace):
            pod = event.object
            if event.type == "DELETED" or pod is None or pod.status.phase == "Running":
                continue
            with contextlib.suppress(errors.NotFoundError, errors.ConflictError):
                await client.update_status(mark_ready(pod))

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
