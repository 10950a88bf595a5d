"""Pod start latency through the runtime plugins, beside the plain engine.

For Docker and Podman (those that answer): p50 over RUNS of "run pod sandbox
+ create + start one container, until the runtime reports it running", and,
in the same run, p50 of ``docker run --rm IMAGE true`` / ``podman run --rm
IMAGE true`` (one container, no sandbox, through the CLI). The shoal path
starts two containers (pause + app), so the ratio to one ``run`` is the
price of the pod model plus the plugin.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
import uuid
from typing import Any

from shoal.plugins.runtimes.images import BUSYBOX_IMAGE, ensure_local_images
from shoal.runtime import ContainerConfig, PodSandboxConfig

RUNS = 10


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for engine in ("docker", "podman"):
        try:
            ensure_local_images(engine)
        except Exception as exc:
            print(f"   {engine}: skipped ({type(exc).__name__}: {exc})")
            continue
        plain = [_plain_run(engine) for _ in range(RUNS)]
        pod = asyncio.run(_pod_starts(engine))
        figures[engine] = {
            "pod_start_p50_ms": _ms(statistics.median(pod)),
            "pod_start_max_ms": _ms(max(pod)),
            "plain_run_p50_ms": _ms(statistics.median(plain)),
            "plain_run_max_ms": _ms(max(plain)),
            "runs": RUNS,
        }
        f = figures[engine]
        print(
            f"   {engine}: pod start p50 {f['pod_start_p50_ms']} ms "
            f"(baseline `{engine} run --rm {BUSYBOX_IMAGE} true` p50 {f['plain_run_p50_ms']} ms)"
        )
    return figures


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _plain_run(engine: str) -> float:
    started = time.perf_counter()
    subprocess.run([engine, "run", "--rm", BUSYBOX_IMAGE, "true"], check=True, capture_output=True)
    return time.perf_counter() - started


async def _pod_starts(engine: str) -> list[float]:
    runtime = _runtime(engine, f"bench-{uuid.uuid4().hex[:8]}")
    took = []
    try:
        for index in range(RUNS):
            took.append(await _one_pod(runtime, index))
    finally:
        for sandbox in await runtime.list_pod_sandboxes():
            await runtime.remove_pod_sandbox(sandbox.id)
        await runtime.close()
    return took


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
