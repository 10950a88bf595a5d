"""Resource metrics of a real agent on Docker and Podman: a pod running a
busy loop shows CPU and memory through the metrics API (gRPC), and
``kubectl top`` shows it and the node (the host) through the gateway."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from shoal.agent.agent import Agent
from shoal.api.v1 import metrics_pb2, metrics_pb2_grpc
from shoal.plugins.gateway import Gateway
from shoal.quantity import cpu_millis, to_bytes
from shoal.testing import start_server

from tests.e2e.agents import E2ENode, agent_options, busybox_pod, stop_node, watch_pod
from tests.e2e.test_agent_engines import running
from tests.gateway.conftest import needs_kubectl, run_kubectl
from tests.integration.helpers import eventually

pytestmark = pytest.mark.e2e
__all__ = ["needs_kubectl"]  # the fixture, for the kubectl test

BUSY_LOOP = "while :; do :; done"


@pytest_asyncio.fixture
async def cluster(engine: str, node_name: str, tmp_path: Path) -> AsyncIterator[E2ENode]:
    import grpc
    from shoal.api.v1 import streams_pb2_grpc
    from shoal.client import Client

    server = await start_server(tmp_path, metric_resolution=1.0)
    agent = Agent(agent_options(engine, node_name, server, tmp_path))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    node = E2ENode(
        engine,
        node_name,
        tmp_path,
        server,
        Client(f"127.0.0.1:{server.port}"),
        agent,
        channel,
        streams_pb2_grpc.StreamsStub(channel),
    )
    try:
        await agent.start()
        yield node
    finally:
        await stop_node(node)


async def _busy_pod_metrics(cluster: E2ENode) -> Any:
    await cluster.client.create(busybox_pod("busy", cluster.node, {"spin": BUSY_LOOP}))
    await watch_pod(cluster.client, "busy", running)
    stub = metrics_pb2_grpc.MetricsStub(cluster.channel)

    async def busy() -> Any:
        with contextlib.suppress(Exception):  # NOT_FOUND until two scrapes
            found = await stub.GetPodMetrics(metrics_pb2.GetMetricsRequest(name="busy"))
            usage = found.containers[0].usage
            if cpu_millis(usage["cpu"]) > 100 and to_bytes(usage["memory"]) > 0:
                return found
        return None

    return await eventually(busy, timeout=60, interval=0.2)


async def test_a_busy_loop_shows_cpu_and_memory(cluster: E2ENode) -> None:
    metrics = await _busy_pod_metrics(cluster)
    (container,) = metrics.containers
    assert container.name == "spin"  # the pause container is no container of the pod
    assert cpu_millis(container.usage["cpu"]) > 100  # a spinning core: near 1000m
    stub = metrics_pb2_grpc.MetricsStub(cluster.channel)
    node = await stub.GetNodeMetrics(metrics_pb2.GetMetricsRequest(name=cluster.node))
    assert cpu_millis(node.usage["cpu"]) >= cpu_millis(container.usage["cpu"]) // 2  # the host
    assert to_bytes(node.usage["memory"]) > to_bytes(container.usage["memory"])


@pytest.mark.usefixtures("needs_kubectl")
async def test_kubectl_top_on_a_real_node(cluster: E2ENode, tmp_path: Path) -> None:
    await _busy_pod_metrics(cluster)
    gateway = Gateway(cluster.client)
    await gateway.start("127.0.0.1:0")
    try:
        pods = await run_kubectl(gateway.url, tmp_path, "top", "pods", "--containers")
        assert pods.code == 0, pods.err
        row = pods.out.splitlines()[1].split()
        assert row[:2] == ["busy", "spin"] and int(row[2].rstrip("m")) > 100, pods.out
        nodes = await run_kubectl(gateway.url, tmp_path, "top", "nodes")
        assert nodes.code == 0, nodes.err
        (line,) = [ln.split() for ln in nodes.out.splitlines() if ln.startswith(cluster.node)]
        assert line[1].endswith("m") and line[2].endswith("%") and line[3].endswith("Mi")
        async with (
            aiohttp.ClientSession(gateway.url) as http,
            http.get("/apis/metrics.k8s.io/v1beta1/pods") as answer,
        ):
            body = await answer.json()
        assert [i["metadata"]["name"] for i in body["items"]] == ["busy"]
    finally:
        await gateway.stop()
