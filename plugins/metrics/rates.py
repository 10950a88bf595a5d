"""Usage from cumulative counters, as metrics-server computes it: CPU is a
counter of nanoseconds of CPU time, so two readings give the rate over
their window in nano-cores; memory (the working set) is a gauge, taken from
the later reading.

``MetricsStorage`` keeps the two newest readings of every node and every
container from the scrapes of all agents, and answers usage from them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
NANOS = 1_000_000_000


@dataclass(frozen=True)
class Sample:
    """One reading of a node or container."""

    timestamp_ns: int  # nanoseconds since the epoch
    start_time_ns: int  # when the node or container (this run of it) started
    cpu_nanoseconds: int  # cumulative CPU time
    memory_bytes: int  # working set now


@dataclass(frozen=True)
class Usage:
    """What was used over ``window`` seconds ending at ``timestamp``."""

    timestamp: float
    window: float
    nano_cores: int
    memory_bytes: int


def usage_between(earlier: Sample, later: Sample) -> Usage | None:
    """The usage over the window between two readings; None when they do not
    make one: no time passed, or the counter started again in between (a
    restarted container: a new start time, or a counter that went back)."""
    window_ns = later.timestamp_ns - earlier.timestamp_ns
    if window_ns <= 0 or later.start_time_ns != earlier.start_time_ns:
        return None
    used = later.cpu_nanoseconds - earlier.cpu_nanoseconds
    if used < 0:
        return None
    # Integers throughout: a float clock would make 250m read as 250.000003m.
    nano_cores = used * NANOS // window_ns
    return Usage(later.timestamp_ns / NANOS, window_ns / NANOS, nano_cores, later.memory_bytes)


class Series(Generic[K]):
    """The two newest readings per key."""

    def __init__(self) -> None:
        self._readings: dict[K, tuple[Sample | None, Sample]] = {}

    def add(self, key: K, sample: Sample) -> None:
        held = self._readings.get(key)
        if held is not None and held[1].timestamp_ns >= sample.timestamp_ns:
            return  # the same reading again (or an older one): no new window
        self._readings[key] = (held[1] if held else None, sample)

    def usage(self, key: K) -> Usage | None:
        held = self._readings.get(key)
        if held is None or held[0] is None:
            return None
        return usage_between(held[0], held[1])

    def keep_only(self, keys: Iterable[K]) -> None:
        """Forget every key not in ``keys`` (gone since the last scrape)."""
        wanted = set(keys)
        for key in [k for k in self._readings if k not in wanted]:
            del self._readings[key]


PodKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class PodUsage:
    timestamp: float
    window: float
    containers: list[tuple[str, Usage]]


class MetricsStorage:
    """The usage of every node and pod, from the newest two scrapes."""

    def __init__(self) -> None:
        self.nodes: Series[str] = Series()
        self.containers: Series[tuple[str, str, str]] = Series()
        self._pods: dict[PodKey, list[str]] = {}  # the containers of each pod, newest scrape

    def store(self, summaries: Iterable[Any]) -> None:
        """Take one scrape: a ``shoal.v1.NodeSummary`` from each agent that
        answered. Nodes and pods absent from it are forgotten."""
        nodes, containers, pods = [], [], {}
        for summary in summaries:
            node = summary.node
            self.nodes.add(node.node_name, _sample(node))
            nodes.append(node.node_name)
            for pod in summary.pods:
                key = (pod.pod_ref.namespace, pod.pod_ref.name)
                pods[key] = [c.name for c in pod.containers]
                for container in pod.containers:
                    self.containers.add((*key, container.name), _sample(container))
                    containers.append((*key, container.name))
        self.nodes.keep_only(nodes)
        self.containers.keep_only(containers)
        self._pods = pods

    def node_usage(self, name: str) -> Usage | None:
        return self.nodes.usage(name)

    def pod_usage(self, namespace: str, name: str) -> PodUsage | None:
        """A pod's usage when every container of it has one (metrics-server
        leaves out a pod with a container it cannot measure yet)."""
        names = self._pods.get((namespace, name))
        if not names:
            return None
        usages = [(c, self.containers.usage((namespace, name, c))) for c in names]
        known = [(c, u) for c, u in usages if u is not None]
        if len(known) != len(usages):
            return None
        latest = max(known, key=lambda cu: cu[1].timestamp)[1]
        return PodUsage(latest.timestamp, latest.window, known)

    def pods(self) -> list[PodKey]:
        return list(self._pods)


def _sample(stats: Any) -> Sample:
    """A Sample from NodeStats or ContainerStats."""
    return Sample(
        timestamp_ns=stats.cpu.time.ToNanoseconds(),
        start_time_ns=stats.start_time.ToNanoseconds(),
        cpu_nanoseconds=stats.cpu.usage_core_nano_seconds,
        memory_bytes=stats.memory.working_set_bytes,
    )
