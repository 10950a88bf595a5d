"""What recording the scheduling decision (``shoal why``) costs the
scheduler: pods/s with the recorder and, measured in the same run, without
it (the baseline), on the shapes of bench_scheduler (nodes of 4 cpu, pods of
100m): the algorithm alone at 500 and 5,000 nodes, and end to end at 500
nodes / 1,000 pods (the decision rides on the Binding, so no extra write);
plus the size of one record and the time to record a pending pod (all
filters on every node), which is off the scheduled pods' path."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import tempfile
import time
from typing import Any

from shoal.plugin_manager import scheduler_plugins
from shoal.plugins.scheduler.cache import PodInfo, SchedulerCache
from shoal.plugins.scheduler.decision import DecisionRecorder, encode
from shoal.plugins.scheduler.framework import FitError, Framework
from shoal.plugins.scheduler.scheduler import Scheduler

from bench.bench_scheduler import _cluster, make_node, make_pod

ALGORITHM_SHAPES = [(500, 2_000), (5_000, 2_000)]
E2E_SHAPE = (500, 1_000)


def _cache(nodes: int) -> SchedulerCache:
    cache = SchedulerCache()
    for i in range(nodes):
        cache.set_node(make_node(f"node-{i}"))
    return cache


def algorithm_rate(nodes: int, pods: int, record: bool) -> float:
    cache = _cache(nodes)
    framework = Framework(scheduler_plugins().items())
    framework.recorder = DecisionRecorder() if record else None
    batch = [make_pod(f"pod-{i}") for i in range(pods)]
    started = time.perf_counter()
    for pod in batch:
        info = PodInfo.of(pod)
        cache.assume_pod(info, framework.schedule(pod, cache, info, {}))
    return pods / (time.perf_counter() - started)


def pending_record(nodes: int) -> dict[str, float]:
    """One pod too big for every node: the time of a failed cycle with and
    without the recorder's every-node analysis."""
    cache = _cache(nodes)
    pod = make_pod("huge")
    pod.spec.containers[0].resources.requests["cpu"] = "64"
    times = {}
    for record in (False, True):
        framework = Framework(scheduler_plugins().items())
        framework.recorder = DecisionRecorder() if record else None
        state: dict[str, Any] = {}
        started = time.perf_counter()
        with contextlib.suppress(FitError):
            framework.schedule(pod, cache, PodInfo.of(pod), state)
        times["with" if record else "without"] = round((time.perf_counter() - started) * 1000, 1)
        if record:
            times["record_bytes"] = len(encode(state["decision"]))
    return times


async def e2e_rate(nodes: int, pods: int, record: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        server, client = await _cluster(pathlib.Path(tmp), nodes, pods)
        scheduler = Scheduler(client, record_decisions=record)
        started = time.perf_counter()
        task = asyncio.create_task(scheduler.run())
        while scheduler.bound < pods:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
        await server.stop(grace=0)
    return round(pods / elapsed, 1)


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for nodes, pods in ALGORITHM_SHAPES:
        without = round(algorithm_rate(nodes, pods, False), 1)
        with_ = round(algorithm_rate(nodes, pods, True), 1)
        figures[f"algorithm_{nodes}_nodes"] = {"without": without, "with": with_}
        print(f"   algorithm {nodes} nodes: {with_} pods/s recorded (without: {without})")
    nodes, pods = E2E_SHAPE
    without = asyncio.run(e2e_rate(nodes, pods, False))
    with_ = asyncio.run(e2e_rate(nodes, pods, True))
    figures[f"e2e_{nodes}_nodes_{pods}_pods"] = {"without": without, "with": with_}
    print(f"   end to end {nodes} nodes: {with_} pods/s recorded (without: {without})")
    for nodes in (500, 5_000):
        pending = pending_record(nodes)
        figures[f"pending_cycle_ms_{nodes}_nodes"] = pending
        print(
            f"   pending pod, {nodes} nodes: {pending['with']} ms recorded"
            f" (without: {pending['without']} ms), record {pending['record_bytes']} bytes"
        )
    return figures
