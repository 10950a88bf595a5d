"""The cost of the API server's metrics: creates per second with metrics on
(the default) against the same server with ``--no-metrics``, alternating
on/off phases so drift on a busy machine hits both. Goal: a ratio >= 0.95.

Baseline measured in the same run: the server without metrics."""

from __future__ import annotations

import asyncio
import pathlib
import statistics
import tempfile
from typing import Any

from bench.bench_api import API_ONLY, clients, closed_loop, make_pod
from bench.server_process import ServerProcess

ROUNDS = 3
WORKERS = 100


async def creates_per_second(address: str, prefix: str) -> float:
    pool = await clients(address, 4)

    async def create(i: int) -> None:
        await pool[i % len(pool)].create(make_pod(f"{prefix}-{i}"))

    try:
        await closed_loop(10, create)  # warm up: connections, caches
        return float((await closed_loop(WORKERS, create))["per_second"])
    finally:
        for client in pool:
            await client.close()


def run() -> dict[str, Any]:
    rates: dict[str, list[float]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for round_ in range(ROUNDS):
            for mode in ("off", "on") if round_ % 2 else ("on", "off"):
                extra = () if mode == "on" else ("--no-metrics",)
                server = ServerProcess(root / f"{mode}-{round_}", *API_ONLY, *extra)
                try:
                    rate = asyncio.run(creates_per_second(server.address, f"{mode}{round_}"))
                finally:
                    server.stop()
                rates[mode].append(rate)
                print(f"round {round_} metrics {mode:3s}: {rate:7.0f} creates/s")
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    print(f"baseline  --no-metrics: {off:7.0f} creates/s (median of {ROUNDS})")
    print(f"metrics on:             {on:7.0f} creates/s = {on / off:.3f} of the baseline")
    return {
        "workers": WORKERS,
        "creates_per_second_metrics_on": rates["on"],
        "creates_per_second_metrics_off": rates["off"],
        "ratio_on_to_off": on / off,
    }
