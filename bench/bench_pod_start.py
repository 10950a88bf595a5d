"""Pod start latency through the API on Docker and Podman, beside the plain
engine.

For each engine that answers: an in-process API server and a real agent on
this machine; PODS pods (one busybox container, bound to the agent's node)
are created one after another, each timed from the create call until a
watch delivers it Running (the agent starts a pause container and the app
container, and reports the status). The baseline, in the same run: PODS
containers started straight through the engine's API, each timed from the
create call until the engine's inspect says Running (``engine_baseline``;
no CLI start, no exit or removal in it). One untimed warm-up on each side.
The goal is the plain start + 150 ms (Kubernetes adds about 2 s).

PODS samples give a median, a nearest-rank p90 and the maximum; nothing
finer is printed. On both sides what was started keeps running until the
end, so the node fills up to PODS pods (and the engine to PODS plain
containers); the samples are kept in order in the results, to show how a
start slows as the node fills.
"""

from __future__ import annotations

import asyncio
import statistics
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

from bench.engine_baseline import percentile, plain_starts

PODS = 30
NAMESPACE = "default"


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for engine in ("docker", "podman"):
        try:
            ensure_local_images(engine)
        except Exception as exc:
            print(f"   {engine}: skipped ({type(exc).__name__}: {exc})")
            continue
        plain = plain_starts(engine, PODS)
        pods = asyncio.run(_pod_starts(engine))
        figures[engine] = _figures(pods, plain)
        _print(engine, figures[engine])
    return figures


def _figures(pods: list[float], plain: list[float]) -> dict[str, Any]:
    return {
        "samples": len(pods),
        "pod_running_p50_ms": _ms(statistics.median(pods)),
        "pod_running_p90_ms": _ms(percentile(pods, 0.9)),
        "pod_running_max_ms": _ms(max(pods)),
        "plain_start_p50_ms": _ms(statistics.median(plain)),
        "plain_start_p90_ms": _ms(percentile(plain, 0.9)),
        "plain_start_max_ms": _ms(max(plain)),
        "overhead_p50_ms": _ms(statistics.median(pods) - statistics.median(plain)),
        "pod_running_ms_in_order": [_ms(t) for t in pods],
        "plain_start_ms_in_order": [_ms(t) for t in plain],
    }


def _print(engine: str, f: dict[str, Any]) -> None:
    print(
        f"   {engine}, {f['samples']} each: pod create -> Running through the API "
        f"p50 {f['pod_running_p50_ms']} ms, p90 {f['pod_running_p90_ms']} ms, "
        f"max {f['pod_running_max_ms']} ms"
    )
    print(
        f"   {engine} baseline: one container create -> Running through the engine API "
        f"p50 {f['plain_start_p50_ms']} ms, p90 {f['plain_start_p90_ms']} ms, "
        f"max {f['plain_start_max_ms']} ms; p50 overhead {f['overhead_p50_ms']} ms"
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


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
    """PODS timed pods after one untimed warm-up (as on the plain side)."""
    running: dict[str, asyncio.Future[float]] = {}
    watcher = asyncio.create_task(_watch_running(client, running))
    took = []
    try:
        for index in range(PODS + 1):
            name = f"start-{index}"
            running[name] = asyncio.get_running_loop().create_future()
            began = time.perf_counter()
            await client.create(_pod(name, node))
            took.append(await asyncio.wait_for(running[name], 60) - began)
    finally:
        watcher.cancel()
    return took[1:]


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
