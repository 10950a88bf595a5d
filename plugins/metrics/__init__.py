"""Built-in plugin: the resource metrics API (``metrics.k8s.io/v1beta1``),
what Kubernetes' metrics-server serves and ``kubectl top`` reads.

Inside the API server, the scraper asks every node's agent for its summary
(``Streams.Summary``: cumulative CPU and memory working set of the node and
of each running container, from Docker or Podman stats, the fake runtime's
modelled usage, and the host) every ``--metric-resolution``; the storage
keeps the two newest readings and turns them into usage (CPU as a rate over
the window between them); ``shoal.v1.Metrics`` serves NodeMetrics and
PodMetrics read-only, and the REST gateway serves them as
``/apis/metrics.k8s.io/v1beta1``. Nothing is stored.
"""

from __future__ import annotations

from typing import Any

from shoal import hookimpl
from shoal.plugins.metrics.service import MetricsServer
from shoal.registry import Registry

__all__ = ["MetricsServer", "register_api_services"]


@hookimpl
def register_api_services(registry: Registry[Any]) -> None:
    registry.register("metrics", MetricsServer)
