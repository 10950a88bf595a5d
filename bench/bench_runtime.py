"""Pod start latency through the runtime plugins, beside the plain engine.

For Docker and Podman (those that answer), RUNS pods after one untimed
warm-up: "run pod sandbox + create + start one container, until the runtime
reports it running". The baseline, in the same run: RUNS containers started
straight through the engine's API, each from the create call until the
engine's inspect says Running (``engine_baseline``; no CLI, no exit or
removal in it). The shoal path starts two containers (pause + app), so the
ratio is the price of the pod model plus the plugin. RUNS samples give the
median and the maximum, printed as such.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

from shoal.plugins.runtimes.images import BUSYBOX_IMAGE, ensure_local_images
from shoal.runtime import ContainerConfig, PodSandboxConfig

from bench.engine_baseline import plain_starts

RUNS = 10


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for engine in ("docker", "podman"):
        try:
            ensure_local_images(engine)
        except Exception as exc:
            print(f"   {engine}: skipped ({type(exc).__name__}: {exc})")
            continue
        plain = plain_starts(engine, RUNS)
        pod = asyncio.run(_pod_starts(engine))
        figures[engine] = {
            "pod_start_p50_ms": _ms(statistics.median(pod)),
            "pod_start_max_ms": _ms(max(pod)),
            "plain_start_p50_ms": _ms(statistics.median(plain)),
            "plain_start_max_ms": _ms(max(plain)),
            "runs": RUNS,
        }
        f = figures[engine]
        print(
            f"   {engine}, {RUNS} each: pod start (sandbox + 1 container) p50 "
            f"{f['pod_start_p50_ms']} ms, max {f['pod_start_max_ms']} ms (baseline: one "
            f"container create -> Running through the engine API p50 "
            f"{f['plain_start_p50_ms']} ms, max {f['plain_start_max_ms']} ms)"
        )
    return figures


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def _pod_starts(engine: str) -> list[float]:
    runtime = _runtime(engine, f"bench-{uuid.uuid4().hex[:8]}")
    took = []
    try:
        for index in range(RUNS + 1):  # the first is the untimed warm-up
            took.append(await _one_pod(runtime, index))
    finally:
        for sandbox in await runtime.list_pod_sandboxes():
            await runtime.remove_pod_sandbox(sandbox.id)
        await runtime.close()
    return took[1:]


async def _one_pod(runtime: Any, index: int) -> float:
    sandbox = PodSandboxConfig(name=f"bench-{index}", namespace="bench", uid=str(uuid.uuid4()))
    app = ContainerConfig("app", BUSYBOX_IMAGE, ["sleep", "3600"])
    started = time.perf_counter()
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    container_id = await runtime.create_container(sandbox_id, app, sandbox)
    await runtime.start_container(container_id)
    while (await runtime.container_status(container_id)).state != "running":
        await asyncio.sleep(0.005)
    took = time.perf_counter() - started
    await runtime.remove_pod_sandbox(sandbox_id)
    return took


def _runtime(engine: str, node: str) -> Any:
    if engine == "docker":
        from shoal.plugins.runtimes.docker import DockerRuntime

        return DockerRuntime({"node_name": node})
    from shoal.plugins.runtimes.podman import PodmanRuntime

    return PodmanRuntime({"node_name": node})
