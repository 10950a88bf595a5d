"""Control-plane memory: RSS of a ``shoal server`` holding N pods running on
hollow nodes, with its control plane (``--controllers '*'``) beside the
same server without one (``--controllers -``) measured in the same run.

The difference is what the scheduler and controllers cost; its growth per
pod is mostly their Pod caches. Before shared informers a server held six
of them (replicaset, replicationcontroller, endpoints, garbagecollector,
node lifecycle, scheduler); with them it holds one.

Pods are created already bound (spec.nodeName round-robin) so both servers
carry the same objects; the agent (its own process) runs them on the fake
runtime. ``SHOAL_BENCH_PODS`` (default ``500,2000``) sets the steps.

Measured on the 2-core development machine, 25 hollow nodes (MiB of RSS the
control plane adds to a server without one, at 500 / 2,000 pods):

- six Pod informers (before shared informers): 20.6 / 68.9, 32.9 KiB per pod;
- one shared Pod informer: 4.4 / 17.2, 8.7 KiB per pod.

(The "before" run used this module with the previous commit's code on
``PYTHONPATH``.)
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import tempfile
import time
from typing import Any

from shoal.client import Client

from bench.bench_agent import _create_all, _pod, start_agent, wait_leases
from bench.server_process import ServerProcess

NODES = 25  # 110 pods each: room for 2,750
SETTLE = 5.0  # seconds after the last pod runs, so caches and buffers drain


def _steps() -> list[int]:
    return [int(n) for n in os.environ.get("SHOAL_BENCH_PODS", "500,2000").split(",")]


async def _wait_running(address: str, count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    async with Client(address) as client:
        while time.monotonic() < deadline:
            listed = await client.list("Pod", "default")
            if sum(p.status.phase == "Running" for p in listed.items) >= count:
                return
            await asyncio.sleep(1.0)
    raise TimeoutError(f"{count} pods did not run")


async def _add_pods(address: str, first: int, last: int) -> None:
    names = [f"hollow-{i:04d}" for i in range(NODES)]
    pods = [_pod(f"p-{i}", names[i % NODES]) for i in range(first, last)]
    async with Client(address) as client:
        await _create_all(client, pods, workers=32)


def measure(work: pathlib.Path, controllers: str) -> dict[int, int]:
    """Server RSS (bytes) after each step of pods."""
    server = ServerProcess(work / "server", "--controllers", controllers)
    agent = start_agent(server.address, work / "agent", NODES)
    rss: dict[int, int] = {}
    try:
        asyncio.run(wait_leases(server.address, NODES))
        made = 0
        for count in _steps():
            asyncio.run(_add_pods(server.address, made, count))
            made = count
            asyncio.run(_wait_running(server.address, count))
            time.sleep(SETTLE)
            rss[count] = server.rss_bytes()
    finally:
        agent.terminate()
        agent.wait(timeout=30)
        server.stop()
    return rss


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        bare = measure(pathlib.Path(tmp) / "none", "-")
        full = measure(pathlib.Path(tmp) / "all", "*")
    steps = _steps()
    rows = []
    for count in steps:
        cost = full[count] - bare[count]
        print(
            f"   {count:5d} pods: server {full[count] / 2**20:6.1f} MiB, without control "
            f"plane {bare[count] / 2**20:6.1f} MiB (baseline): control plane "
            f"{cost / 2**20:6.1f} MiB"
        )
        rows.append(
            {
                "pods": count,
                "server_rss_mib": round(full[count] / 2**20, 1),
                "baseline_no_controllers_rss_mib": round(bare[count] / 2**20, 1),
                "control_plane_mib": round(cost / 2**20, 1),
            }
        )
    low, high = steps[0], steps[-1]
    slope = ((full[high] - bare[high]) - (full[low] - bare[low])) / max(high - low, 1)
    print(f"   control plane per extra pod: {slope / 2**10:.1f} KiB")
    return {"nodes": NODES, "steps": rows, "control_plane_kib_per_pod": round(slope / 2**10, 1)}
