"""Calls gRPC's core has received but the server's loop has not taken up
yet are bounded by ``ConnectionLimits.pending_calls``: past it the core
sheds calls and their clients see CANCELLED. A simulation, whose clients
all share the server's process and loop, raises the bound so a burst of
its own calls is queued, never shed (1,000 hollow nodes starting at once
made every client fail with CANCELLED)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shoal import errors
from shoal.apiserver.connlimits import ConnectionLimits
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.plugins.simulate import runner
from shoal.store.sqlite import SQLiteStore

BURST = 4000


async def _burst(tmp_path: Path, pending_calls: int) -> list[BaseException]:
    server = APIServer(
        SQLiteStore(tmp_path / f"{pending_calls}.db"),
        connections=ConnectionLimits(pending_calls=pending_calls),
    )
    await server.start("127.0.0.1:0")
    client = Client(f"127.0.0.1:{server.port}")
    try:
        await client.version()  # connected before the burst
        answers = await asyncio.gather(
            *(client.version() for _ in range(BURST)), return_exceptions=True
        )
    finally:
        await client.close()
        await server.stop()
    return [a for a in answers if isinstance(a, BaseException)]


async def test_a_burst_past_the_bound_is_shed_with_cancelled(tmp_path: Path) -> None:
    failed = await _burst(tmp_path, pending_calls=2)
    assert failed, "a bound of 2 pending calls shed nothing of a burst of 4000"
    assert all(isinstance(f, errors.APIError) and "CANCELLED" in str(f) for f in failed)


async def test_the_simulation_bound_queues_the_whole_burst(tmp_path: Path) -> None:
    assert await _burst(tmp_path, pending_calls=runner.PENDING_CALLS) == []
