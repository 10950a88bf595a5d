"""Scheduler throughput for the shapes of Kubernetes' scheduler_perf
SchedulingBasic: 500 nodes / 1,000 pods and 5,000 nodes / 10,000 pods
(nodes of 4 cpu, 32 Gi, 110 pods; pods requesting 100m cpu and 500 Mi).

Two ways, each beside its floor measured in the same run:

- **algorithm**: the scheduler's filter/score cycle plus the assumed-pod
  cache, in memory, beside a bare first-fit loop over the same nodes;
- **end to end**: pods already created through the API; then the scheduler
  starts (informers list and watch), places and binds every pod through a
  real in-process API server on a temporary SQLite store: one Binding per
  pod (``spec.nodeName`` and the PodScheduled condition in one write,
  refused if the pod changed), then a Scheduled event, as in a cluster.
  Its floor is a bare first-fit loop that lists the same pods and creates
  the same Binding for each (no informers, no cache, no event).

Pod creation is not timed. The server shares this process (and its GIL)
with the scheduler, which calls it through the in-process channel, as it
does by default in ``shoal server``; the floor calls it the same way.
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile
import time
from typing import Any

from shoal.api.v1 import core_pb2
from shoal.client import Client
from shoal.plugin_manager import scheduler_plugins
from shoal.plugins.scheduler.cache import PodInfo, SchedulerCache
from shoal.plugins.scheduler.framework import Framework
from shoal.plugins.scheduler.scheduler import Scheduler
from shoal.testing import start_server

from bench.goals import goal

SHAPES = [(500, 1_000), (5_000, 10_000)]
GOAL_SHAPE, GOAL_PODS_PER_S = (5_000, 10_000), 1_000  # issue 18, goal 3
CONCURRENCY = 256


def make_node(name: str) -> core_pb2.Node:
    node = core_pb2.Node()
    node.metadata.name = name
    node.metadata.labels["kubernetes.io/hostname"] = name
    for field in (node.status.capacity, node.status.allocatable):
        field.update({"cpu": "4", "memory": "32Gi", "pods": "110"})
    node.status.conditions.add(type="Ready", status="True")
    return node


def make_pod(name: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace = name, "default"
    container = pod.spec.containers.add(name="pause", image="registry.k8s.io/pause:3.9")
    container.resources.requests.update({"cpu": "100m", "memory": "500Mi"})
    pod.spec.scheduler_name = "default-scheduler"
    return pod


# -- the algorithm alone -------------------------------------------------------


def algorithm_rate(nodes: int, pods: int) -> float:
    cache = SchedulerCache()
    for i in range(nodes):
        cache.set_node(make_node(f"node-{i}"))
    framework = Framework(scheduler_plugins().items())
    batch = [make_pod(f"pod-{i}") for i in range(pods)]
    started = time.perf_counter()
    for pod in batch:
        info = PodInfo.of(pod)
        cache.assume_pod(info, framework.schedule(pod, cache, info))
    return pods / (time.perf_counter() - started)


class FirstFit:
    """The floor: the first node with room, no scoring, no plugins."""

    def __init__(self, nodes: int) -> None:
        self.free = [[4000, 32 * 2**30, 110] for _ in range(nodes)]
        self.start = 0

    def place(self, cpu: int, memory: int) -> int:
        total = len(self.free)
        for step in range(total):
            i = (self.start + step) % total
            room = self.free[i]
            if room[0] >= cpu and room[1] >= memory and room[2] >= 1:
                room[0] -= cpu
                room[1] -= memory
                room[2] -= 1
                return i
        raise RuntimeError("no room")


def first_fit_rate(nodes: int, pods: int) -> float:
    fit = FirstFit(nodes)
    batch = [make_pod(f"pod-{i}") for i in range(pods)]
    started = time.perf_counter()
    for pod in batch:
        info = PodInfo.of(pod)  # same per-pod parsing as the scheduler
        fit.place(info.cpu, info.memory)
    return pods / (time.perf_counter() - started)


# -- end to end through the API --------------------------------------------------


async def _create_all(client: Client, objects: list[Any]) -> None:
    for i in range(0, len(objects), CONCURRENCY):
        await asyncio.gather(*(client.create(o) for o in objects[i : i + CONCURRENCY]))


async def _cluster(tmp: pathlib.Path, nodes: int, pods: int) -> tuple[Any, Client]:
    server = await start_server(tmp)
    # as in shoal server: the scheduler calls its process's API server in process
    client = Client("in-process", channel=server.in_process_channel())
    await _create_all(client, [make_node(f"node-{i}") for i in range(nodes)])
    await _create_all(client, [make_pod(f"pod-{i}") for i in range(pods)])
    return server, client


async def scheduler_e2e(nodes: int, pods: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        server, client = await _cluster(pathlib.Path(tmp), nodes, pods)
        scheduler = Scheduler(client)
        started = time.perf_counter()
        task = asyncio.create_task(scheduler.run())
        await scheduler.pods.wait_synced()
        synced = time.perf_counter()
        while scheduler.bound < pods:
            await asyncio.sleep(0.01)
        bound = time.perf_counter()
        await _settle(scheduler)
        settled = time.perf_counter()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
        await server.stop(grace=0)
    return {
        "pods_per_s": round(pods / (bound - started), 1),
        "pods_per_s_after_sync": round(pods / (bound - synced), 1),
        "informer_sync_s": round(synced - started, 2),
        "with_events_pods_per_s": round(pods / (settled - started), 1),
        "bind_conflicts": scheduler.bind_conflicts,
    }


async def _settle(scheduler: Scheduler) -> None:
    """Wait for the Scheduled events to land too."""
    while scheduler._tasks:
        await asyncio.gather(*list(scheduler._tasks), return_exceptions=True)
    await scheduler.recorder.flush()


def binding(pod: core_pb2.Pod, node: str) -> core_pb2.Binding:
    """The Binding the scheduler writes (Scheduler.bind_pod): guarded by the
    pod's uid and resourceVersion."""
    bind = core_pb2.Binding()
    m = bind.metadata
    m.name, m.namespace = pod.metadata.name, pod.metadata.namespace
    m.uid, m.resource_version = pod.metadata.uid, pod.metadata.resource_version
    bind.target.kind, bind.target.name = "Node", node
    return bind


async def first_fit_e2e(nodes: int, pods: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        server, client = await _cluster(pathlib.Path(tmp), nodes, pods)
        started = time.perf_counter()
        listed = (await client.list("Pod", "default")).items
        fit = FirstFit(nodes)
        binds = []
        for pod in listed:
            info = PodInfo.of(pod)
            binds.append(binding(pod, f"node-{fit.place(info.cpu, info.memory)}"))
        for i in range(0, len(binds), CONCURRENCY):
            await asyncio.gather(*(client.create(b) for b in binds[i : i + CONCURRENCY]))
        elapsed = time.perf_counter() - started
        await client.close()
        await server.stop(grace=0)
    return round(pods / elapsed, 1)


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for nodes, pods in SHAPES:
        shape = f"{nodes}_nodes_{pods}_pods"
        result: dict[str, Any] = {
            "algorithm_pods_per_s": round(algorithm_rate(nodes, pods), 1),
            "first_fit_floor_pods_per_s": round(first_fit_rate(nodes, pods), 1),
            "e2e": asyncio.run(scheduler_e2e(nodes, pods)),
            "e2e_first_fit_floor_pods_per_s": asyncio.run(first_fit_e2e(nodes, pods)),
        }
        figures[shape] = result
        print(f"   {shape}:")
        print(
            f"     algorithm  {result['algorithm_pods_per_s']:>9} pods/s"
            f"   (first-fit floor {result['first_fit_floor_pods_per_s']} pods/s)"
        )
        e2e = result["e2e"]
        print(
            f"     end to end {e2e['pods_per_s']:>9} pods/s bound"
            f" ({e2e['pods_per_s_after_sync']} after a {e2e['informer_sync_s']} s informer sync;"
            f" {e2e['with_events_pods_per_s']} with the Scheduled events written)"
            f"   (floor: first-fit + Binding {result['e2e_first_fit_floor_pods_per_s']} pods/s)"
        )
        if (nodes, pods) == GOAL_SHAPE:
            result["goal"] = goal(
                f"scheduler end to end at {nodes} nodes / {pods} pods",
                e2e["pods_per_s"],
                f"first-fit + Binding floor {result['e2e_first_fit_floor_pods_per_s']} pods/s",
                f">= {GOAL_PODS_PER_S} pods/s",
                e2e["pods_per_s"] >= GOAL_PODS_PER_S,
                " pods/s",
            )
    return figures
