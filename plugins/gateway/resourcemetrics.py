"""``metrics.k8s.io/v1beta1`` over REST: NodeMetrics and PodMetrics, read-only,
what ``kubectl top`` reads (and, in Kubernetes, metrics-server serves through
API aggregation). Each request is one call of the API server's
``shoal.v1.Metrics`` service, made as the caller; nothing is stored."""

from __future__ import annotations

from typing import Any

import grpc
from aiohttp import web
from shoal.api.v1 import metrics_pb2, metrics_pb2_grpc
from shoal.client import Client
from shoal.plugins.gateway.bodies import respond, to_json
from shoal.plugins.gateway.podstreams import rpc_error
from shoal.plugins.gateway.status import not_found

GROUP_VERSION = "metrics.k8s.io/v1beta1"
BASE = f"/apis/{GROUP_VERSION}"


def discovery_resources() -> list[dict[str, Any]]:
    """The group's APIResourceList entries, as metrics-server's."""
    return [
        {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics",
         "verbs": ["get", "list"]},
        {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics",
         "verbs": ["get", "list"]},
    ]  # fmt: skip


def add_routes(app: web.Application, client: Client) -> None:
    metrics = ResourceMetricsRoutes(client)
    app.router.add_get(f"{BASE}/nodes", metrics.list_nodes)
    app.router.add_get(f"{BASE}/nodes/{{name}}", metrics.get_node)
    app.router.add_get(f"{BASE}/pods", metrics.list_pods)
    app.router.add_get(f"{BASE}/namespaces/{{namespace}}/pods", metrics.list_pods)
    app.router.add_get(f"{BASE}/namespaces/{{namespace}}/pods/{{name}}", metrics.get_pod)


def _item(kind: str, message: Any) -> dict[str, Any]:
    return {"kind": kind, "apiVersion": GROUP_VERSION, **to_json(message)}


def _list(kind: str, answer: Any) -> dict[str, Any]:
    return {
        "kind": f"{kind}List",
        "apiVersion": GROUP_VERSION,
        "metadata": {},
        "items": [to_json(item) for item in answer.items],
    }


class ResourceMetricsRoutes:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def _call(self, method: str, request: Any) -> Any:
        stub = metrics_pb2_grpc.MetricsStub(self.client.channel)
        try:
            return await getattr(stub, method)(request)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.UNIMPLEMENTED:  # no metrics plugin loaded
                raise not_found() from None
            raise rpc_error(err) from None

    async def list_nodes(self, request: web.Request) -> web.Response:
        ask = metrics_pb2.ListMetricsRequest(label_selector=request.query.get("labelSelector", ""))
        return respond(_list("NodeMetrics", await self._call("ListNodeMetrics", ask)))

    async def get_node(self, request: web.Request) -> web.Response:
        ask = metrics_pb2.GetMetricsRequest(name=request.match_info["name"])
        return respond(_item("NodeMetrics", await self._call("GetNodeMetrics", ask)))

    async def list_pods(self, request: web.Request) -> web.Response:
        ask = metrics_pb2.ListMetricsRequest(
            namespace=request.match_info.get("namespace", ""),
            label_selector=request.query.get("labelSelector", ""),
        )
        return respond(_list("PodMetrics", await self._call("ListPodMetrics", ask)))

    async def get_pod(self, request: web.Request) -> web.Response:
        info = request.match_info
        ask = metrics_pb2.GetMetricsRequest(namespace=info["namespace"], name=info["name"])
        return respond(_item("PodMetrics", await self._call("GetPodMetrics", ask)))
