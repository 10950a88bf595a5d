"""The agent's Prometheus metrics, with the kubelet's names, on a plain-HTTP
``/metrics`` listener of its own (``--metrics-listen``, loopback by default,
as the kubelet's read-only port 10255 was).

Each agent keeps its own registry: several agents (or a test's cluster) in
one process report their own pods. An agent running many hollow nodes
reports their sum. Pods and containers are counted at scrape time from what
the agent already holds (its pod workers, the last relist of container
states); runtime calls are timed by wrapping the runtime."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from shoal import metrics

log = structlog.get_logger("agent")

DEFAULT_PORT = 10255  # the kubelet's read-only port
# Runtime method -> the kubelet's operation_type.
OPERATIONS = {
    "version": "version",
    "ensure_image": "pull_image",
    "list_images": "list_images",
    "run_pod_sandbox": "run_podsandbox",
    "stop_pod_sandbox": "stop_podsandbox",
    "remove_pod_sandbox": "remove_podsandbox",
    "pod_sandbox_status": "podsandbox_status",
    "list_pod_sandboxes": "list_podsandbox",
    "create_container": "create_container",
    "start_container": "start_container",
    "stop_container": "stop_container",
    "remove_container": "remove_container",
    "container_status": "container_status",
    "list_containers": "list_containers",
    "exec_sync": "exec_sync",
}
CONTAINER_STATES = ("created", "running", "exited", "unknown")


class _Pods(Collector):
    """kubelet_running_pods and kubelet_running_containers, read at scrape time."""

    def __init__(self, nodes: Callable[[], Any]) -> None:
        self.nodes = nodes

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pods = GaugeMetricFamily(
            "kubelet_running_pods", "Number of pods that have a running pod sandbox"
        )
        containers = GaugeMetricFamily(
            "kubelet_running_containers",
            "Number of containers currently running",
            labels=["container_state"],
        )
        running, states = 0, dict.fromkeys(CONTAINER_STATES, 0)
        for node in list(self.nodes()):
            manager = node.pods
            running += sum(
                1 for w in list(manager.workers.values()) if w.pod.status.phase == "Running"
            )
            for state in list(manager._states.values()):
                states[state] = states.get(state, 0) + 1
        pods.add_metric([], running)
        for state, count in states.items():
            containers.add_metric([state], count)
        yield pods
        yield containers


class KubeletMetrics:
    """One agent's registry and metric objects."""

    def __init__(self, nodes: Callable[[], Any]) -> None:
        self.registry = metrics.new_registry()
        self.registry.register(_Pods(nodes))
        self.pod_start = Histogram(
            "kubelet_pod_start_duration_seconds",
            "Duration in seconds from kubelet seeing a pod for the first time to the pod "
            "starting to run",
            buckets=metrics.POD_START_BUCKETS,
            registry=self.registry,
        )
        self.operations = Counter(
            "kubelet_runtime_operations_total",
            "Cumulative number of runtime operations by operation type.",
            ("operation_type",),
            registry=self.registry,
        )
        self.operation_errors = Counter(
            "kubelet_runtime_operations_errors_total",
            "Cumulative number of runtime operation errors by operation type.",
            ("operation_type",),
            registry=self.registry,
        )
        self.durations = Histogram(
            "kubelet_runtime_operations_duration_seconds",
            "Duration in seconds of runtime operations. Broken down by operation type.",
            ("operation_type",),
            buckets=metrics.RUNTIME_BUCKETS,
            registry=self.registry,
        )

    def timed(self, runtime: Any) -> Any:
        """``runtime`` with its CRI calls counted and timed."""
        return TimedRuntime(runtime, self)


class TimedRuntime:
    """A runtime whose operations (``OPERATIONS``) are counted and timed;
    everything else, attributes too, is the runtime's own."""

    def __init__(self, runtime: Any, kubelet: KubeletMetrics) -> None:
        object.__setattr__(self, "_runtime", runtime)
        timed = {}
        for method, operation in OPERATIONS.items():
            call = getattr(runtime, method, None)
            if call is not None:
                timed[method] = _timed(call, operation, kubelet)
        object.__setattr__(self, "_timed", timed)

    def __getattr__(self, name: str) -> Any:
        timed = self._timed.get(name)
        return timed if timed is not None else getattr(self._runtime, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._runtime, name, value)


def _timed(call: Any, operation: str, kubelet: KubeletMetrics) -> Any:
    count = kubelet.operations.labels(operation)
    errors = kubelet.operation_errors.labels(operation)
    duration = kubelet.durations.labels(operation)

    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        count.inc()
        try:
            return await call(*args, **kwargs)
        except Exception:
            errors.inc()
            raise
        finally:
            duration.observe(time.perf_counter() - started)

    return timed


async def serve_metrics(kubelet: KubeletMetrics, listen: str) -> tuple[Any, int]:
    """Plain HTTP ``/metrics`` on ``listen``; a free port when the kubelet's
    default one is taken (another agent on this host)."""
    return await metrics.serve(listen, kubelet.registry, default_port=DEFAULT_PORT)
