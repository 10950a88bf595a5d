"""Prometheus metrics, with Kubernetes' names, through the official client
library (``prometheus_client``).

The API server, the controllers and the scheduler of one process share the
library's default registry (which also carries the ``process_*`` and
``python_*`` collectors); ``/metrics`` on the gateway serves it. An agent
keeps its own registry (:func:`new_registry`), so several hollow nodes in one
process each report their own pods.

Hot paths hold label children resolved once (``counter.labels(...)`` is a
dict lookup under a lock); depths and pending counts are read at scrape
time by collectors over live objects, so adding a key costs no gauge update.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "REGISTRY", "exposition", "new_registry"]

disable_created_metrics()  # Kubernetes' components expose no *_created series

# kube-apiserver's apiserver_request_duration_seconds buckets.
REQUEST_BUCKETS = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0,
    4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
)  # fmt: skip
# client-go's workqueue buckets: 10 ns to 10 s, by tens.
WORKQUEUE_BUCKETS = tuple(1e-8 * 10**i for i in range(10))
# etcd_request_duration_seconds' buckets.
STORAGE_BUCKETS = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0,
    4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
)  # fmt: skip
# The scheduler's attempt buckets: 1 ms doubling, 15 of them.
SCHEDULING_BUCKETS = tuple(0.001 * 2**i for i in range(15))
# kubelet_pod_start_duration_seconds' buckets.
POD_START_BUCKETS = (
    0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 20.0, 30.0, 45.0, 60.0, 120.0,
    180.0, 240.0, 300.0, 360.0, 480.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0,
)  # fmt: skip
# kubelet_runtime_operations_duration_seconds: 5 ms doubling (exponential(.005, 2.5, 14)).
RUNTIME_BUCKETS = tuple(0.005 * 2.5**i for i in range(14))

REQUEST_LABELS = ("verb", "group", "version", "resource", "subresource", "scope", "component")

# -- API server ------------------------------------------------------------------

apiserver_request_total = Counter(
    "apiserver_request_total",
    "Counter of apiserver requests broken out for each verb, group, version, resource, "
    "scope, component, and HTTP response code.",
    (*REQUEST_LABELS, "code"),
)
apiserver_request_duration_seconds = Histogram(
    "apiserver_request_duration_seconds",
    "Response latency distribution in seconds for each verb, group, version, resource, "
    "subresource, scope and component.",
    REQUEST_LABELS,
    buckets=REQUEST_BUCKETS,
)
# apiserver_current_inflight_requests and apiserver_longrunning_requests are
# read at scrape time from plain counts (shoal.apiserver.instrumentation), so
# a request costs no gauge lock.
etcd_request_duration_seconds = Histogram(
    "etcd_request_duration_seconds",
    "Etcd request latency in seconds for each operation and object type "
    "(the store's, whichever backend).",
    ("operation", "type"),
    buckets=STORAGE_BUCKETS,
)

# -- controllers' work queues ------------------------------------------------------

workqueue_adds_total = Counter(
    "workqueue_adds_total", "Total number of adds handled by workqueue", ("name",)
)
workqueue_queue_duration_seconds = Histogram(
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested.",
    ("name",),
    buckets=WORKQUEUE_BUCKETS,
)
workqueue_work_duration_seconds = Histogram(
    "workqueue_work_duration_seconds",
    "How long in seconds processing an item from workqueue takes.",
    ("name",),
    buckets=WORKQUEUE_BUCKETS,
)
workqueue_retries_total = Counter(
    "workqueue_retries_total", "Total number of retries handled by workqueue", ("name",)
)

# -- scheduler -----------------------------------------------------------------------

scheduler_schedule_attempts_total = Counter(
    "scheduler_schedule_attempts_total",
    "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod "
    "could not be scheduled, while 'error' means an internal scheduler problem.",
    ("result", "profile"),
)
scheduler_scheduling_attempt_duration_seconds = Histogram(
    "scheduler_scheduling_attempt_duration_seconds",
    "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
    ("result", "profile"),
    buckets=SCHEDULING_BUCKETS,
)


class _Live(Collector):
    """A gauge read at scrape time from the live objects registered with it
    (weakly: a stopped queue or scheduler drops out by itself)."""

    def __init__(
        self, name: str, documentation: str, label: str, read: Callable[[Any], Iterable[Any]]
    ) -> None:
        self.name, self.documentation, self.label, self.read = name, documentation, label, read
        self.objects: weakref.WeakSet[Any] = weakref.WeakSet()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self.name, self.documentation, labels=[self.label])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=[self.label])
        totals: dict[str, float] = {}
        for obj in list(self.objects):
            for value, amount in self.read(obj):
                totals[value] = totals.get(value, 0) + amount
        for value, amount in sorted(totals.items()):
            family.add_metric([value], amount)
        yield family


workqueue_depth = _Live(
    "workqueue_depth",
    "Current depth of workqueue",
    "name",
    lambda queue: [(queue.name, len(queue))],
)
scheduler_pending_pods = _Live(
    "scheduler_pending_pods",
    "Number of pending pods, by the queue type. 'active' means number of pods in "
    "activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means "
    "number of pods in unschedulablePods.",
    "queue",
    lambda queue: queue.pending().items(),
)
REGISTRY.register(workqueue_depth)
REGISTRY.register(scheduler_pending_pods)


def track_workqueue(queue: Any) -> None:
    """Report ``queue``'s depth as ``workqueue_depth{name}`` while it lives."""
    workqueue_depth.objects.add(queue)


def track_scheduling_queue(queue: Any) -> None:
    """Report ``queue.pending()`` as ``scheduler_pending_pods{queue}`` while it lives."""
    scheduler_pending_pods.objects.add(queue)


# -- serving -------------------------------------------------------------------------


def new_registry() -> CollectorRegistry:
    """A registry of its own (an agent's), with the process and Python
    collectors a scrape of any component shows."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The registry in the Prometheus text format (``CONTENT_TYPE_LATEST``)."""
    return generate_latest(registry)


async def serve(
    listen: str, registry: CollectorRegistry = REGISTRY, *, default_port: int = -1
) -> tuple[Any, int]:
    """Plain HTTP ``GET /metrics`` of ``registry`` on ``listen`` (HOST:PORT),
    for a component without the gateway in front (an agent, a standalone
    controller-manager), with ``/healthz``, ``/livez`` and ``/readyz``
    answering ``ok`` while the process serves, as Kubernetes' components
    do. When ``default_port`` is the one asked and it is taken (another
    component on this host), a free port. Returns the aiohttp runner
    (``cleanup()`` stops it) and the port."""
    import errno

    from aiohttp import web

    async def scrape(request: web.Request) -> web.Response:
        body = exposition(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    for path in ("/healthz", "/livez", "/readyz"):
        app.router.add_get(path, ok)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    host, _, port_text = listen.rpartition(":")
    if not port_text.isdigit():
        await runner.cleanup()
        raise ValueError(f'invalid listen address "{listen}": want HOST:PORT')
    host, port = host.strip("[]") or "127.0.0.1", int(port_text)
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as err:
        if err.errno != errno.EADDRINUSE or port != default_port:
            await runner.cleanup()
            raise
        await web.TCPSite(runner, host, 0).start()
    return runner, runner.addresses[0][1]
