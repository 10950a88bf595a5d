"""Issue 18, goal 2: the API path. ConfigMap creates beside the empty-RPC
floor (``Discovery.Version``) through the same server, with 1 and with 100
calls in flight. The server runs in its own process (the API alone, no
controllers; plain gRPC on loopback); the load comes from this one.

The phases alternate (floor, create, floor, create, ...) ROUNDS times and
each figure is the median over the rounds, so a noisy neighbour on a shared
machine weighs on the floor and the creates alike. Goals: creates with 100
in flight at least 0.8x the floor's rate; one client's create p50 at most
2x the floor's p50.
"""

from __future__ import annotations

import asyncio
import pathlib
import statistics
import tempfile
from typing import Any

from shoal.api.v1 import core_pb2
from shoal.client import Client

from bench.bench_api import API_ONLY, closed_loop
from bench.goals import goal
from bench.server_process import ServerProcess

ROUNDS = 3


def make_config_map(name: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap()
    cm.metadata.name, cm.metadata.namespace = name, "default"
    cm.data["key"] = "value"
    return cm


async def measure(address: str) -> dict[str, Any]:
    pool = [Client(address) for _ in range(4)]
    runs: dict[str, list[dict[str, float]]] = {}
    try:
        for r in range(ROUNDS):
            for workers in (1, 100):

                async def create(i: int, w: int = workers, r: int = r) -> None:
                    await pool[i % len(pool)].create(make_config_map(f"r{r}-c{w}-{i}"))

                async def empty(i: int) -> None:
                    await pool[i % len(pool)].version()

                runs.setdefault(f"empty_rpc_{workers}", []).append(
                    await closed_loop(workers, empty)
                )
                runs.setdefault(f"create_{workers}", []).append(await closed_loop(workers, create))
    finally:
        for client in pool:
            await client.close()
    return {
        name: {field: statistics.median(run[field] for run in results) for field in results[0]}
        for name, results in runs.items()
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(pathlib.Path(tmp) / "server", *API_ONLY)
        try:
            figures = asyncio.run(measure(server.address))
        finally:
            server.stop()
    for workers in (1, 100):
        floor, create = figures[f"empty_rpc_{workers}"], figures[f"create_{workers}"]
        print(
            f"   {workers:3d} in flight: empty RPC {floor['per_second']:6.0f}/s"
            f" (p50 {floor['p50_ms']:.2f} ms)"
            f"  ConfigMap create {create['per_second']:6.0f}/s (p50 {create['p50_ms']:.2f} ms,"
            f" p99 {create['p99_ms']:.2f} ms)"
        )
    floor100, create100 = figures["empty_rpc_100"], figures["create_100"]
    floor1, create1 = figures["empty_rpc_1"], figures["create_1"]
    ratio = create100["per_second"] / floor100["per_second"]
    latency = create1["p50_ms"] / floor1["p50_ms"]
    figures["goals"] = {
        "creates_vs_floor_100_in_flight": goal(
            "API creates/s vs empty-RPC floor, 100 in flight",
            ratio,
            f"floor {floor100['per_second']:.0f}/s, creates {create100['per_second']:.0f}/s",
            ">= 0.80x",
            ratio >= 0.8,
            "x",
        ),
        "create_p50_vs_floor_p50_1_client": goal(
            "single-client create p50 vs floor p50",
            latency,
            f"floor p50 {floor1['p50_ms']:.2f} ms, create p50 {create1['p50_ms']:.2f} ms",
            "<= 2.00x",
            latency <= 2.0,
            "x",
        ),
    }
    return figures
