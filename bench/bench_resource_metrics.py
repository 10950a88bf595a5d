"""The cost of resource metrics on the agent: one ``Streams.Summary`` (what
the metrics plugin asks each agent every --metric-resolution) over a node
with PODS running pods on Docker and on Podman, per pod, in wall time and
the agent process's CPU time.

Baseline measured in the same run: the engine's own stats call for one
container (Docker's one-shot ``/containers/{id}/stats``, libpod's
``/containers/stats``) over the same socket, one after another, so the
ratio says what the summary adds to what the engine charges anyway.

Rounds are PACE seconds apart, as scrapes are (--metric-resolution):
dockerd answers a container's stats within a second of the last ones only
at its collector's next one-second tick."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

from shoal.agent.resourcestats import node_summary
from shoal.plugins.runtimes.images import BUSYBOX_IMAGE
from shoal.runtime import ContainerConfig, PodSandboxConfig

PODS = 10
ROUNDS = 10
PACE = 1.5  # seconds between rounds: a (short) scrape interval


def _runtime(engine: str, node: str) -> Any:
    if engine == "docker":
        from shoal.plugins.runtimes.docker import DockerRuntime

        return DockerRuntime({"node_name": node})
    from shoal.plugins.runtimes.podman import PodmanRuntime

    return PodmanRuntime({"node_name": node})


async def _pods(runtime: Any, count: int) -> list[str]:
    """``count`` running pods of one container each; their container ids."""
    ids = []
    for i in range(count):
        sandbox = PodSandboxConfig(name=f"m{i}", namespace="bench", uid=uuid.uuid4().hex)
        sandbox_id = await runtime.run_pod_sandbox(sandbox)
        config = ContainerConfig(name="main", image=BUSYBOX_IMAGE, command=["sleep", "3600"])
        container_id = await runtime.create_container(sandbox_id, config, sandbox)
        await runtime.start_container(container_id)
        ids.append(container_id)
    return ids


async def _timed(call: Any) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one awaited call, PACE after the last."""
    await asyncio.sleep(PACE)
    wall, cpu = time.perf_counter(), time.process_time()
    await call()
    return time.perf_counter() - wall, time.process_time() - cpu


async def _engine(engine: str) -> dict[str, Any]:
    node = f"bench-metrics-{uuid.uuid4().hex[:8]}"
    runtime = _runtime(engine, node)
    try:
        ids = await _pods(runtime, PODS)

        async def summary() -> None:
            found = await node_summary(node, runtime)
            assert len(found.pods) == PODS, len(found.pods)

        async def plain() -> None:
            for container_id in ids:
                await runtime.container_stats(container_id)

        await summary()  # warm: connections, imports
        summaries = [await _timed(summary) for _ in range(ROUNDS)]
        plains = [await _timed(plain) for _ in range(ROUNDS)]
    finally:
        for sandbox in await runtime.list_pod_sandboxes():
            await runtime.remove_pod_sandbox(sandbox.id)
        await runtime.close()
    wall = statistics.median(s[0] for s in summaries)
    base = statistics.median(p[0] for p in plains)
    return {
        "pods": PODS,
        "summary_ms_per_pod": round(wall / PODS * 1000, 2),
        "summary_cpu_ms_per_pod": round(
            statistics.median(s[1] for s in summaries) / PODS * 1000, 2
        ),
        "baseline_engine_stats_ms_per_container": round(base / PODS * 1000, 2),
        "ratio_to_baseline": round(wall / base, 2),
    }


def _engines() -> list[str]:
    import shutil

    return [e for e in ("docker", "podman") if shutil.which(e)]


def run() -> dict[str, Any]:
    figures = {}
    for engine in _engines():
        figures[engine] = asyncio.run(_engine(engine))
        print(f"   {engine}: {figures[engine]}")
    return figures
