"""Density through the whole control plane: one Deployment of 3,000
replicas on 100 hollow nodes, from its create to 3,000 pods seen Ready
(Deployment and ReplicaSet controllers, scheduler, agents' status, events),
beside the baseline of the same server's bound-pod creates (3,000 pods
created with spec.nodeName set to a node nobody runs, 100 in flight: the
API's write rate alone) measured in the same run after the Deployment and
after its Events: components write Events one at a time in the background,
so the last arrive after the pods are Ready; the run waits for them, counts
them in the calls per pod, and reports when they were all written.

The server (scheduler and controllers in it, as ``shoal server`` runs by
default) and the agent of the hollow nodes (fake runtime) run in their own
processes. ``BENCH_DENSITY_PODS`` and ``BENCH_DENSITY_NODES`` change the size.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import tempfile
import time
from typing import Any

from shoal.api.v1 import core_pb2
from shoal.client import Client
from shoal.manifest import from_dict

from bench.density import Cluster, PodClock, calls_between, deployment, events_settled
from bench.goals import goal

PODS = int(os.environ.get("BENCH_DENSITY_PODS", "3000"))
NODES = int(os.environ.get("BENCH_DENSITY_NODES", "100"))
IN_FLIGHT = 100
TIMEOUT = 1200.0


async def deployment_rate(client: Client, cluster: Cluster) -> dict[str, Any]:
    clock = PodClock(client, "default")
    before = cluster.metrics()
    await clock.start()
    try:
        began = time.monotonic()
        await client.create(deployment("density", PODS))
        last = await clock.until_ready(PODS, TIMEOUT)
    finally:
        await clock.stop()
    seconds = last - began
    settled = await events_settled(cluster.metrics, began)
    calls = calls_between(before, cluster.metrics())
    return {
        "pods": PODS,
        "seconds": round(seconds, 2),
        "pods_per_s": round(PODS / seconds, 1),
        "events_settled_s": round(settled, 2),
        "mutating_calls_per_pod": round(sum(calls.values()) / PODS, 2),
        "mutating_calls": calls,
    }


async def bound_create_rate(client: Client) -> dict[str, Any]:
    await client.create(
        from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bound"}})
    )
    left = list(range(PODS))

    async def worker() -> None:
        while left:
            pod = core_pb2.Pod()
            pod.metadata.name, pod.metadata.namespace = f"bound-{left.pop()}", "bound"
            pod.spec.containers.add(name="main", image="registry.local/app:1")
            pod.spec.node_name = "absent-node"  # bound, and nobody runs it
            await client.create(pod)

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    seconds = time.monotonic() - began
    return {"pods": PODS, "seconds": round(seconds, 2), "creates_per_s": round(PODS / seconds, 1)}


async def measure(cluster: Cluster) -> dict[str, Any]:
    registered = await cluster.wait_ready()
    async with Client(cluster.server.address) as client:
        density = await deployment_rate(client, cluster)
        bound = await bound_create_rate(client)
    return {"nodes_ready_s": round(registered, 1), "deployment": density, "bound_creates": bound}


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shoal-density-") as tmp:
        cluster = Cluster(pathlib.Path(tmp), NODES, per_agent=NODES)
        try:
            figures = asyncio.run(measure(cluster))
        finally:
            cluster.stop()
    rate, base = figures["deployment"]["pods_per_s"], figures["bound_creates"]["creates_per_s"]
    print(
        f"   baseline  bound-pod creates ({IN_FLIGHT} in flight): {base:7.1f} creates/s"
        f"\n   Deployment of {PODS} on {NODES} hollow nodes: {rate:7.1f} pods/s to Ready"
        f" ({figures['deployment']['seconds']:.1f} s) = {rate / base:.0%} of the bound-create rate"
        f"\n   its Events all written {figures['deployment']['events_settled_s']:.1f} s after it"
        " (in the background; the baseline ran after them)"
        f"\n   mutating API calls per pod: {figures['deployment']['mutating_calls_per_pod']}"
        f" ({figures['deployment']['mutating_calls']})"
    )
    figures["goal"] = goal(
        f"density pods/s, {PODS} pods on {NODES} hollow nodes",
        rate,
        f"bound-pod creates {base:.0f}/s, ratio {rate / base:.2f}",
        ">= 300 pods/s and >= 25% of bound creates",
        rate >= 300 and rate >= 0.25 * base,
        " pods/s",
    )
    return figures
