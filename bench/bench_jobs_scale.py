"""Batch work at scale on hollow nodes (issue 16): 1,000 Jobs of 10
completions each (10,000 pods) must run to completion. Reports the wall time
from the first create to every job Complete, pods per second, and the
server's (API server, scheduler, controllers) resident memory at the start
and at its peak.

Sizes as bench_jobs: ``SHOAL_BENCH_JOBS`` (default 1000),
``SHOAL_BENCH_COMPLETIONS`` (default 10), ``SHOAL_BENCH_NODES`` (default
100 hollow nodes, 200 pods each). ``make bench-scale`` runs it."""

from __future__ import annotations

import asyncio
import pathlib
import subprocess
import tempfile
from typing import Any

from shoal.client import Client

from bench.bench_agent import wait_leases
from bench.bench_jobs import COMPLETIONS, JOBS, NODES, job_pods_per_second, start_agent
from bench.server_process import ServerProcess

SAMPLE = 1.0  # seconds between memory samples


async def measure(server: ServerProcess) -> dict[str, Any]:
    peak = [server.rss_bytes()]
    start = peak[0]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], server.rss_bytes())
            await asyncio.sleep(SAMPLE)

    sampler = asyncio.create_task(sample())
    try:
        async with Client(server.address) as client:
            jobs = await job_pods_per_second(client, JOBS, COMPLETIONS)
    finally:
        sampler.cancel()
    peak[0] = max(peak[0], server.rss_bytes())
    return {
        **jobs,
        "nodes": NODES,
        "server_rss_start_mib": round(start / 2**20),
        "server_rss_peak_mib": round(peak[0] / 2**20),
        "server_cpu_seconds": round(server.cpu_seconds(), 1),
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shoal-bench-jobs-scale-") as tmp:
        work = pathlib.Path(tmp)
        server = ServerProcess(work / "server")
        agent = start_agent(server.address, work / "agent")
        print(f"   server pid {server.proc.pid}", flush=True)
        try:
            asyncio.run(wait_leases(server.address, NODES))
            figures = asyncio.run(measure(server))
        finally:
            agent.terminate()
            try:
                agent.wait(timeout=30)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
            server.stop()
    print(
        f"   {figures['jobs']} jobs x {figures['completions']} completions on {NODES} hollow "
        f"nodes: {figures['seconds']} s = {figures['pods_per_second']} pods/s; server RSS "
        f"{figures['server_rss_start_mib']} -> {figures['server_rss_peak_mib']} MiB (peak)"
    )
    return figures
