"""The node's resource summary, as the kubelet's stats (``/stats/summary``,
``/metrics/resource``): cumulative CPU and the memory working set of the
node and of every running container, read from the runtime when asked.

The agent keeps no history: rates are the scraper's business (the metrics
plugin turns two summaries into usage over their window, as
metrics-server does). A node's own numbers are the host's (``/proc``),
except on a runtime that models its node (the fake runtime's hollow nodes).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from shoal.api.v1 import metrics_pb2
from shoal.runtime import (
    LABEL_CONTAINER_NAME,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerStatsSource,
    ContainerStatus,
    NodeStatsSource,
    ResourceUsage,
    RuntimeFailure,
)

NANOS = 1_000_000_000
_BOOT_NS = time.time_ns() - time.monotonic_ns()


def host_usage(proc: Path = Path("/proc")) -> ResourceUsage:
    """The whole machine: CPU time of every core but idle and I/O wait, and
    memory in use (total minus available)."""
    now = time.time_ns()
    fields = (proc / "stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(f) for f in fields[:8]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # idle, iowait
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    memory: dict[str, int] = {}
    for line in (proc / "meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        memory[key] = int(rest.split()[0]) * 1024 if rest.split() else 0
    used = memory.get("MemTotal", 0) - memory.get("MemAvailable", memory.get("MemFree", 0))
    return ResourceUsage(now, busy * NANOS // hz, max(used, 0))


def _stamp(nanoseconds: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(nanoseconds)
    return stamp


def _cpu(usage: ResourceUsage) -> metrics_pb2.CPUStats:
    return metrics_pb2.CPUStats(
        time=_stamp(usage.timestamp_ns), usage_core_nano_seconds=usage.cpu_usage_core_nanoseconds
    )


def _memory(usage: ResourceUsage) -> metrics_pb2.MemoryStats:
    return metrics_pb2.MemoryStats(
        time=_stamp(usage.timestamp_ns), working_set_bytes=usage.memory_working_set_bytes
    )


async def _container_stats(
    runtime: Any, status: ContainerStatus
) -> metrics_pb2.ContainerStats | None:
    try:
        usage = await runtime.container_stats(status.id)
    except RuntimeFailure:  # gone between list and stats: next scrape
        return None
    return metrics_pb2.ContainerStats(
        name=status.labels.get(LABEL_CONTAINER_NAME, status.name),
        start_time=_stamp(int(status.started_at * NANOS)),
        cpu=_cpu(usage),
        memory=_memory(usage),
    )


async def _list_containers(runtime: Any) -> list[ContainerStatus]:
    return list(await runtime.list_containers())


async def pod_stats(runtime: Any) -> list[metrics_pb2.PodStats]:
    """Every running container the runtime has for this node, by pod."""
    if not isinstance(runtime, ContainerStatsSource):
        return []
    listed = await _list_containers(runtime)
    running = [c for c in listed if c.state == "running" and LABEL_POD_UID in c.labels]
    found = await asyncio.gather(*(_container_stats(runtime, c) for c in running))
    pods: dict[str, metrics_pb2.PodStats] = {}
    for status, stats in zip(running, found, strict=True):
        if stats is None:
            continue
        uid = status.labels[LABEL_POD_UID]
        pod = pods.get(uid)
        if pod is None:
            ref = metrics_pb2.PodReference(
                name=status.labels.get(LABEL_POD_NAME, ""),
                namespace=status.labels.get(LABEL_POD_NAMESPACE, ""),
                uid=uid,
            )
            pod = pods[uid] = metrics_pb2.PodStats(pod_ref=ref)
        pod.containers.append(stats)
    return list(pods.values())


async def node_summary(node: str, runtime: Any) -> metrics_pb2.NodeSummary:
    """The summary of ``node`` served by ``runtime``."""
    pods = await pod_stats(runtime)
    if isinstance(runtime, NodeStatsSource):
        usage, started = await runtime.node_stats(), 0
    else:
        usage, started = await asyncio.to_thread(host_usage), _BOOT_NS
    stats = metrics_pb2.NodeStats(
        node_name=node, start_time=_stamp(started), cpu=_cpu(usage), memory=_memory(usage)
    )
    return metrics_pb2.NodeSummary(node=stats, pods=pods)
