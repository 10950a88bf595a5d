"""Pod start latency through the API on Docker and Podman, beside the plain
engine.

For each engine that answers: an in-process API server and a real agent on
this machine; PODS pods (one busybox container, bound to the agent's node)
are created one after another, each timed from the create call until a
watch delivers it Running. In the same run, ``docker run --rm IMAGE true``
/ ``podman run --rm IMAGE true`` through the CLI is the baseline. The goal
is the plain run + 150 ms (Kubernetes adds about 2 s).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from shoal import plugin_manager
from shoal.agent.agent import Agent, AgentOptions
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.runtimes.images import BUSYBOX_IMAGE, ensure_local_images
from shoal.testing import start_server

PODS = 10
NAMESPACE = "default"


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for engine in ("docker", "podman"):
        try:
            ensure_local_images(engine)
        except Exception as exc:
            print(f"   {engine}: skipped ({type(exc).__name__}: {exc})")
            continue
        _plain_run(engine)  # warm the engine's caches for both sides alike
        plain = [_plain_run(engine) for _ in range(PODS)]
        pods = asyncio.run(_pod_starts(engine))
        figures[engine] = _figures(pods, plain)
        _print(engine, figures[engine])
    return figures


def _figures(pods: list[float], plain: list[float]) -> dict[str, Any]:
    return {
        "pod_running_p50_ms": _ms(statistics.median(pods)),
        "pod_running_p99_ms": _ms(_p99(pods)),
        "plain_run_p50_ms": _ms(statistics.median(plain)),
        "plain_run_p99_ms": _ms(_p99(plain)),
        "overhead_p50_ms": _ms(statistics.median(pods) - statistics.median(plain)),
        "pods": len(pods),
    }


def _print(engine: str, f: dict[str, Any]) -> None:
    print(
        f"   {engine}: create -> Running p50 {f['pod_running_p50_ms']} ms, "
        f"p99 {f['pod_running_p99_ms']} ms "
        f"(baseline `{engine} run --rm {BUSYBOX_IMAGE} true` p50 {f['plain_run_p50_ms']} ms, "
        f"p99 {f['plain_run_p99_ms']} ms; p50 overhead {f['overhead_p50_ms']} ms)"
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _plain_run(engine: str) -> float:
    started = time.perf_counter()
    subprocess.run([engine, "run", "--rm", BUSYBOX_IMAGE, "true"], check=True, capture_output=True)
    return time.perf_counter() - started


async def _pod_starts(engine: str) -> list[float]:
    node = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="shoal-bench-") as tmp:
        server = await start_server(Path(tmp))
        agent = Agent(_options(engine, node, server.port, Path(tmp)))
        client = Client(f"127.0.0.1:{server.port}")
        try:
            await agent.start()
            return await _timed_pods(client, node)
        finally:
            await agent.stop()
            await _remove_pods(engine, node)
            await client.close()
            await server.stop(grace=0)


def _options(engine: str, node: str, port: int, data_dir: Path) -> AgentOptions:
    return AgentOptions(
        server=f"127.0.0.1:{port}",
        name=node,
        runtime=engine,
        data_dir=data_dir / "agent",
        node_ip="127.0.0.1",
        stream_listen="127.0.0.1:0",
    )


async def _timed_pods(client: Client, node: str) -> list[float]:
    running: dict[str, asyncio.Future[float]] = {}
    watcher = asyncio.create_task(_watch_running(client, running))
    took = []
    try:
        for index in range(PODS):
            name = f"start-{index}"
            running[name] = asyncio.get_running_loop().create_future()
            began = time.perf_counter()
            await client.create(_pod(name, node))
            took.append(await asyncio.wait_for(running[name], 60) - began)
    finally:
        watcher.cancel()
    return took


async def _watch_running(client: Client, running: dict[str, asyncio.Future[float]]) -> None:
    async for event in client.watch("Pod", NAMESPACE):
        pod = event.object
        if pod is None or pod.status.phase != "Running":
            continue
        waiting = running.get(pod.metadata.name)
        if waiting is not None and not waiting.done():
            waiting.set_result(time.perf_counter())


def _pod(name: str, node: str) -> Any:
    container = {
        "name": "main",
        "image": BUSYBOX_IMAGE,
        "imagePullPolicy": "Never",
        "command": ["sleep", "3600"],
    }
    spec = {"nodeName": node, "terminationGracePeriodSeconds": 0, "containers": [container]}
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}
    return from_dict(manifest)


async def _remove_pods(engine: str, node: str) -> None:
    """Straight through a runtime of the stopped agent's node: quicker than
    graceful deletion, and sure."""
    runtime = plugin_manager.runtimes().get(engine)({"node_name": node})
    try:
        for sandbox in await runtime.list_pod_sandboxes():
            await runtime.remove_pod_sandbox(sandbox.id)
    finally:
        await runtime.close()
