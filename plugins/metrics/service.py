"""The gRPC side: ``shoal.v1.Metrics`` as a thin adapter over
:class:`~shoal.plugins.metrics.api.ResourceMetrics`, and the API service the
API server runs (the scraper's task beside it)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from shoal import errors, kinds
from shoal.api.v1 import metrics_pb2, metrics_pb2_grpc
from shoal.contracts import APIServiceContext
from shoal.plugins.metrics.api import ResourceMetrics
from shoal.plugins.metrics.rates import MetricsStorage
from shoal.plugins.metrics.scraper import Scraper

SERVICE = "shoal.v1.Metrics"
DEFAULT_RESOLUTION = 15.0  # seconds, metrics-server's --metric-resolution


class MetricsServicer(metrics_pb2_grpc.MetricsServicer):
    def __init__(self, api: ResourceMetrics) -> None:
        self.api = api

    async def GetNodeMetrics(self, request: Any, context: Any) -> Any:
        return await _answer(context, self.api.get_node(request.name))

    async def ListNodeMetrics(self, request: Any, context: Any) -> Any:
        return await _answer(context, self.api.list_nodes(request.label_selector))

    async def GetPodMetrics(self, request: Any, context: Any) -> Any:
        return await _answer(context, self.api.get_pod(request.namespace, request.name))

    async def ListPodMetrics(self, request: Any, context: Any) -> Any:
        return await _answer(context, self.api.list_pods(request.namespace, request.label_selector))


async def _answer(context: Any, call: Any) -> Any:
    try:
        return await call
    except errors.APIError as err:
        await context.abort(err.code, err.message, errors.trailing_metadata(err))


class MetricsServer:
    """The resource metrics API in the API server: scrape agents, serve usage."""

    service_names = (SERVICE,)

    def __init__(self, context: APIServiceContext) -> None:
        self.registry, self.agents = context.registry, context.agents
        resolution = float(context.options.get("metric_resolution") or DEFAULT_RESOLUTION)
        self.storage = MetricsStorage()
        self.scraper = Scraper(self._node_names, self._summary, self.storage, resolution)
        self.api = ResourceMetrics(self.storage, self._objects, self._object)
        self._task: asyncio.Task[None] | None = None
        self._listed: dict[str, Any] = {}  # the last scrape's nodes, by name

    def add_to_server(self, server: Any) -> None:
        metrics_pb2_grpc.add_MetricsServicer_to_server(MetricsServicer(self.api), server)

    async def start(self) -> None:
        self._task = asyncio.create_task(self.scraper.run(), name="metrics-scraper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _objects(self, plural: str, namespace: str) -> list[Any]:
        return list((await self.registry.list(kinds.resolve(plural), namespace)).items)

    async def _object(self, plural: str, namespace: str, name: str) -> Any | None:
        try:
            return await self.registry.get(kinds.resolve(plural), namespace, name)
        except errors.NotFoundError:
            return None

    async def _node_names(self) -> list[str]:
        # kept for this scrape's summaries: a read of each node again would
        # cost thousands of gets a scrape in a big cluster
        self._listed = {node.metadata.name: node for node in await self._objects("nodes", "")}
        return list(self._listed)

    async def _summary(self, node: str) -> Any:
        listed = self._listed.get(node)
        link = self.agents.link(listed) if listed else await self.agents.node_stub(node)
        return await link.stub.Summary(metrics_pb2.SummaryRequest(node=node))
