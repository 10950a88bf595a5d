"""The resource metrics API in plain Python: NodeMetrics and PodMetrics
(``shoal.v1``, the JSON of ``metrics.k8s.io/v1beta1``) made from the
storage's usage and the stored Nodes and Pods (their names and labels, read
at request time, so a selector sees today's labels and a deleted pod
vanishes at once)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from shoal import errors
from shoal.api.v1 import meta_pb2, metrics_pb2
from shoal.plugins.metrics.rates import NANOS, MetricsStorage, Usage
from shoal.selectors import LabelSelector, SelectorError, parse_label_selector

GROUP = "metrics.k8s.io"
# (kind plural, namespace) -> the stored objects: registry.list, in effect
ObjectLister = Callable[[str, str], Awaitable[list[Any]]]
# (kind plural, namespace, name) -> the stored object, or None
ObjectGetter = Callable[[str, str, str], Awaitable[Any | None]]


def cpu_quantity(nano_cores: int) -> str:
    """Nano-cores as metrics-server writes them: "1500000n"."""
    return f"{nano_cores}n"


def memory_quantity(size: int) -> str:
    """Bytes, in Ki when whole ("51200Ki"), as a Kubernetes quantity."""
    return f"{size // 1024}Ki" if size and size % 1024 == 0 else str(size)


def usage_map(usage: Usage) -> dict[str, str]:
    return {"cpu": cpu_quantity(usage.nano_cores), "memory": memory_quantity(usage.memory_bytes)}


def _selector(text: str) -> LabelSelector:
    try:
        return parse_label_selector(text)
    except SelectorError as err:
        raise errors.BadRequestError(f"unable to parse requirement: {err}") from None


def _not_found(resource: str, name: str) -> errors.NotFoundError:
    """As metrics-server words it: ``podmetrics.metrics.k8s.io "default/web" not found``."""
    message = f'{resource}.{GROUP} "{name}" not found'
    return errors.NotFoundError(message, name=name, group=GROUP, kind=resource)


def _meta(obj: Any, stamp: Timestamp) -> meta_pb2.ObjectMeta:
    meta = obj.metadata
    return meta_pb2.ObjectMeta(
        name=meta.name, namespace=meta.namespace, labels=dict(meta.labels), creation_timestamp=stamp
    )


def _time(timestamp: float, window: float) -> tuple[Timestamp, Duration]:
    stamp, length = Timestamp(), Duration()
    stamp.FromNanoseconds(int(timestamp * NANOS))
    length.FromNanoseconds(int(window * NANOS))
    return stamp, length


class ResourceMetrics:
    def __init__(self, storage: MetricsStorage, objects: ObjectLister, get: ObjectGetter) -> None:
        self.storage, self.objects, self.get = storage, objects, get

    def _node_metrics(self, node: Any) -> metrics_pb2.NodeMetrics | None:
        usage = self.storage.node_usage(node.metadata.name)
        if usage is None:
            return None
        stamp, window = _time(usage.timestamp, usage.window)
        return metrics_pb2.NodeMetrics(
            metadata=_meta(node, stamp), timestamp=stamp, window=window, usage=usage_map(usage)
        )

    def _pod_metrics(self, pod: Any) -> metrics_pb2.PodMetrics | None:
        usage = self.storage.pod_usage(pod.metadata.namespace, pod.metadata.name)
        if usage is None:
            return None
        stamp, window = _time(usage.timestamp, usage.window)
        containers = [
            metrics_pb2.ContainerMetrics(name=name, usage=usage_map(u))
            for name, u in usage.containers
        ]
        return metrics_pb2.PodMetrics(
            metadata=_meta(pod, stamp), timestamp=stamp, window=window, containers=containers
        )

    async def list_nodes(self, label_selector: str = "") -> metrics_pb2.NodeMetricsList:
        selector = _selector(label_selector)
        nodes = [n for n in await self.objects("nodes", "") if selector.matches(n.metadata.labels)]
        items = [m for m in map(self._node_metrics, nodes) if m is not None]
        return metrics_pb2.NodeMetricsList(items=items)

    async def get_node(self, name: str) -> metrics_pb2.NodeMetrics:
        found = await self.get("nodes", "", name)
        metrics = self._node_metrics(found) if found is not None else None
        if metrics is None:
            raise _not_found("nodemetrics", name)
        return metrics

    async def list_pods(
        self, namespace: str = "", label_selector: str = ""
    ) -> metrics_pb2.PodMetricsList:
        selector = _selector(label_selector)
        pods = [
            p for p in await self.objects("pods", namespace) if selector.matches(p.metadata.labels)
        ]
        items = [m for m in map(self._pod_metrics, pods) if m is not None]
        return metrics_pb2.PodMetricsList(items=items)

    async def get_pod(self, namespace: str, name: str) -> metrics_pb2.PodMetrics:
        namespace = namespace or "default"
        found = await self.get("pods", namespace, name)
        metrics = self._pod_metrics(found) if found is not None else None
        if metrics is None:
            raise _not_found("podmetrics", f"{namespace}/{name}")
        return metrics
