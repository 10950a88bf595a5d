"""A Kubernetes-style scale run (as the density/load tests of Kubernetes'
scalability SLOs): 1,000 hollow nodes, 30 pods per node (30,000 pods)
through Deployments of 150 replicas, created at a steady pace (50 pods/s by
default, as clusterloader2 drives its load at a set throughput), checked
against Kubernetes' SLOs:

* pod startup p99 <= 5 s: per pod, first seen (watch ADDED) -> seen Running,
  as observed by this process;
* mutating API calls p99 <= 1 s and list calls p99 <= 5 s: the server's own
  ``apiserver_request_duration_seconds`` histograms (every client's calls:
  controllers, scheduler, agents, this process), between a scrape before the
  first Deployment and one after the last pod is Ready; the figure is the
  bucket bound holding the p99. A probe lists every pod each 10 s;
* the server's memory: its peak RSS, sampled each second.

The baseline, measured in the same run: the same server's figures over the
same span before the load starts (nodes only: leases and status).

The server (scheduler and controllers in it) and the agents (250 hollow
nodes each, fake runtime) run in their own processes. ``BENCH_SCALE_NODES``,
``BENCH_SCALE_PODS_PER_NODE`` and ``BENCH_SCALE_PODS_PER_S`` change the size.
"""

from __future__ import annotations

import asyncio
import math
import os
import pathlib
import tempfile
import time
from typing import Any

import grpc
from shoal import errors
from shoal.client import Client

from bench.density import (
    Cluster,
    PeakRSS,
    PodClock,
    deployment,
    histogram_p99,
    percentile,
    request_histograms,
)
from bench.goals import goal

NODES = int(os.environ.get("BENCH_SCALE_NODES", "1000"))
PER_NODE = int(os.environ.get("BENCH_SCALE_PODS_PER_NODE", "30"))
PACE = float(os.environ.get("BENCH_SCALE_PODS_PER_S", "50"))
REPLICAS = 150  # per Deployment
LIST_EVERY = 10.0
RETRIED = (
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
)
QUIET = float(os.environ.get("BENCH_SCALE_QUIET", "30"))  # seconds of the baseline


async def list_probe(client: Client, out: list[float]) -> None:
    while True:
        began = time.monotonic()
        await client.list("Pod", "default")
        out.append(time.monotonic() - began)
        await asyncio.sleep(LIST_EVERY)


async def create(client: Client, obj: Any, attempts: int = 5) -> None:
    """Create, retrying a call the overloaded server cancelled or refused
    for load; one that landed before (AlreadyExists) counts as done."""
    for attempt in range(attempts):
        try:
            await client.create(obj)
            return
        except errors.AlreadyExistsError:
            return
        except errors.APIError as err:
            if attempt == attempts - 1 or err.code not in RETRIED:
                raise
            await asyncio.sleep(1)


def slos(cluster: Cluster, before: str) -> dict[str, Any]:
    after = request_histograms(cluster.metrics())
    earlier = request_histograms(before)
    out = {}
    for name in ("mutating", "list"):
        p99, count = histogram_p99(earlier.get(name, {}), after.get(name, {}))
        out[name] = {"p99_le_s": p99, "calls": count}
    return out


async def measure(cluster: Cluster) -> dict[str, Any]:
    pods = NODES * PER_NODE
    registered = await cluster.wait_ready()
    rss = PeakRSS(cluster.server)
    async with Client(cluster.server.address) as client:
        scrape = cluster.metrics()
        await asyncio.sleep(QUIET)
        baseline = {**slos(cluster, scrape), "rss_mib": round(cluster.server.rss_bytes() / 2**20)}
        clock = PodClock(client, "default")
        await clock.start()
        lists: list[float] = []
        probe = asyncio.create_task(list_probe(client, lists))
        rss.start()
        scrape = cluster.metrics()
        began = time.monotonic()
        try:
            for i in range(math.ceil(pods / REPLICAS)):
                replicas = min(REPLICAS, pods - i * REPLICAS)
                await create(client, deployment(f"load-{i:04d}", replicas))
                await asyncio.sleep(max(0.0, began + (i + 1) * REPLICAS / PACE - time.monotonic()))
            last = await clock.until_ready(pods, 3600)
            load = slos(cluster, scrape)
        finally:
            probe.cancel()
            await asyncio.gather(probe, return_exceptions=True)
            await clock.stop()
        peak = await rss.stop()
    startup = clock.startup()
    return {
        "nodes": NODES,
        "pods": pods,
        "pace_pods_per_s": PACE,
        "nodes_ready_s": round(registered, 1),
        "seconds": round(last - began, 1),
        "pods_per_s": round(pods / (last - began), 1),
        "startup_p50_s": round(percentile(startup, 0.5), 3),
        "startup_p99_s": round(percentile(startup, 0.99), 3),
        "mutating_p99_le_s": load["mutating"]["p99_le_s"],
        "mutating_calls": load["mutating"]["calls"],
        "list_p99_le_s": load["list"]["p99_le_s"],
        "list_calls": load["list"]["calls"],
        "probe_list_p99_s": round(percentile(lists, 0.99), 3) if lists else None,
        "server_peak_rss_mib": round(peak / 2**20),
        "baseline_nodes_only": baseline,
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shoal-scale-") as tmp:
        cluster = Cluster(pathlib.Path(tmp), NODES)
        try:
            f = asyncio.run(measure(cluster))
        finally:
            cluster.stop()
    base = f["baseline_nodes_only"]
    print(
        f"   baseline  {NODES} nodes, no pods ({QUIET:.0f} s): mutating p99 <= "
        f"{base['mutating']['p99_le_s']} s ({base['mutating']['calls']} calls), list p99 <= "
        f"{base['list']['p99_le_s']} s, server RSS {base['rss_mib']} MiB"
        f"\n   {f['pods']} pods on {NODES} nodes at {PACE:.0f} pods/s offered: all Running in "
        f"{f['seconds']} s ({f['pods_per_s']} pods/s); startup p50 {f['startup_p50_s']} s "
        f"p99 {f['startup_p99_s']} s; mutating p99 <= {f['mutating_p99_le_s']} s "
        f"({f['mutating_calls']} calls); list p99 <= {f['list_p99_le_s']} s "
        f"({f['list_calls']} calls); server peak RSS {f['server_peak_rss_mib']} MiB"
    )
    size = f"{NODES} nodes x {PER_NODE} pods"
    f["goals"] = [
        goal(f"scale pod startup p99, {size}", f["startup_p99_s"],
             f"offered {PACE:.0f} pods/s", "<= 5 s", f["startup_p99_s"] <= 5, " s"),
        goal(f"scale mutating API call p99, {size}", f["mutating_p99_le_s"],
             f"nodes only: {base['mutating']['p99_le_s']} s", "<= 1 s",
             f["mutating_p99_le_s"] <= 1, " s"),
        goal(f"scale list call p99, {size}", f["list_p99_le_s"],
             f"nodes only: {base['list']['p99_le_s']} s", "<= 5 s",
             f["list_p99_le_s"] <= 5, " s"),
    ]  # fmt: skip
    return f
