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

from bench.bench_api import API_ONLY, PHASE_SECONDS, clients, closed_loop, make_pod
from bench.server_process import ServerProcess

ROUNDS = 5
WORKERS = 100


async def creates_per_second(server: ServerProcess, prefix: str) -> tuple[float, float]:
    """Creates per second, and the server's CPU seconds per create."""
    pool = await clients(server.address, 4)

    def creating(phase: str) -> Any:
        async def create(i: int) -> None:
            await pool[i % len(pool)].create(make_pod(f"{prefix}-{phase}-{i}"))

        return create

    try:
        await closed_loop(10, creating("warm"))  # connections, caches
        cpu = server.cpu_seconds()
        rate = float((await closed_loop(WORKERS, creating("load")))["per_second"])
        return rate, (server.cpu_seconds() - cpu) / (rate * PHASE_SECONDS)
    finally:
        for client in pool:
            await client.close()


def run() -> dict[str, Any]:
    rates: dict[str, list[float]] = {"on": [], "off": []}
    cpu: dict[str, list[float]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for round_ in range(ROUNDS):
            for mode in ("off", "on") if round_ % 2 else ("on", "off"):
                extra = () if mode == "on" else ("--no-metrics",)
                server = ServerProcess(root / f"{mode}-{round_}", *API_ONLY, *extra)
                try:
                    rate, per = asyncio.run(creates_per_second(server, f"{mode}{round_}"))
                finally:
                    server.stop()
                rates[mode].append(rate)
                cpu[mode].append(per)
                print(
                    f"round {round_} metrics {mode:3s}: {rate:7.0f} creates/s, "
                    f"{per * 1e6:6.0f} us server CPU per create"
                )
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    print(f"baseline  --no-metrics: {off:7.0f} creates/s (median of {ROUNDS})")
    print(f"metrics on:             {on:7.0f} creates/s = {on / off:.3f} of the baseline")
    cpu_on, cpu_off = statistics.median(cpu["on"]), statistics.median(cpu["off"])
    print(
        f"server CPU per create: {cpu_off * 1e6:.0f} us without, {cpu_on * 1e6:.0f} us with "
        f"metrics: creates per CPU second {cpu_off / cpu_on:.3f} of the baseline"
    )
    return {
        "workers": WORKERS,
        "creates_per_second_metrics_on": rates["on"],
        "creates_per_second_metrics_off": rates["off"],
        "ratio_on_to_off": on / off,
        "server_cpu_seconds_per_create_on": cpu["on"],
        "server_cpu_seconds_per_create_off": cpu["off"],
        "cpu_ratio_off_to_on": cpu_off / cpu_on,
    }
