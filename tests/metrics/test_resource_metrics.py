"""The resource metrics API on hollow nodes (fake runtime, modelled usage):
gRPC, REST through the gateway, real ``kubectl top`` and ``shoal top``, and
refusals of a bad selector through both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from shoal.agent.testing import Cluster, start_cluster, stop_cluster
from shoal.api.v1 import metrics_pb2, metrics_pb2_grpc
from shoal.plugins.gateway import Gateway

from tests.ctl.conftest import invoke
from tests.gateway.conftest import Run, needs_kubectl, run_kubectl
from tests.integration.helpers import eventually, pod

__all__ = ["needs_kubectl"]  # the fixture, for the kubectl test

BUSY = {"fake.shoal.io/usage-cpu": "250m", "fake.shoal.io/usage-memory": "64Mi"}


@dataclass
class MetricsCluster:
    cluster: Cluster
    url: str
    http: aiohttp.ClientSession
    home: Path

    @property
    def stub(self) -> metrics_pb2_grpc.MetricsStub:
        return metrics_pb2_grpc.MetricsStub(self.cluster.client.channel)

    async def kubectl(self, *args: str) -> Run:
        return await run_kubectl(self.url, self.home, *args)

    async def shoal(self, *args: str) -> Any:
        address = f"127.0.0.1:{self.cluster.server.port}"
        return await asyncio.to_thread(invoke, ["--server", address, *args])


@pytest_asyncio.fixture
async def metrics_cluster(tmp_path: Path) -> AsyncIterator[MetricsCluster]:
    cluster = await start_cluster(tmp_path, nodes=2, metric_resolution=0.3)
    gateway = Gateway(cluster.client)
    await gateway.start("127.0.0.1:0")
    home = tmp_path / "home"
    home.mkdir()
    http = aiohttp.ClientSession(gateway.url)
    try:
        yield MetricsCluster(cluster, gateway.url, http, home)
    finally:
        await http.close()
        await gateway.stop()
        await stop_cluster(cluster)


async def _busy_pod(mc: MetricsCluster, name: str = "busy", **labels: str) -> None:
    created = pod(name, labels={"app": name, **labels}, node=mc.cluster.nodes[0])
    created.metadata.annotations.update(BUSY)
    await mc.cluster.client.create(created)


async def _pod_metrics(mc: MetricsCluster, name: str) -> Any:
    async def found() -> Any:
        listed = await mc.stub.ListPodMetrics(metrics_pb2.ListMetricsRequest(namespace="default"))
        return next((m for m in listed.items if m.metadata.name == name), None)

    return await eventually(found, timeout=30)


def _nano(quantity: str) -> int:
    assert quantity.endswith("n"), quantity
    return int(quantity[:-1])


async def test_pod_and_node_metrics_are_the_modelled_usage(metrics_cluster: MetricsCluster) -> None:
    mc = metrics_cluster
    await _busy_pod(mc, tier="web")
    metrics = await _pod_metrics(mc, "busy")
    (container,) = metrics.containers
    assert container.name == "main"
    assert container.usage["cpu"] == "250000000n"  # exactly what was set
    assert container.usage["memory"] == "65536Ki"
    assert metrics.metadata.labels["tier"] == "web"
    assert metrics.window.ToNanoseconds() > 0

    async def node_busy() -> Any:
        one = await mc.stub.GetNodeMetrics(metrics_pb2.GetMetricsRequest(name=mc.cluster.nodes[0]))
        return one if _nano(one.usage["cpu"]) > 200_000_000 else None

    node = await eventually(node_busy, timeout=30)  # a hollow node: its pods' sum
    assert node.usage["memory"] == "65536Ki"
    listed = await mc.stub.ListNodeMetrics(metrics_pb2.ListMetricsRequest())
    assert sorted(m.metadata.name for m in listed.items) == mc.cluster.nodes

    chosen = await mc.stub.ListPodMetrics(metrics_pb2.ListMetricsRequest(label_selector="tier=db"))
    assert list(chosen.items) == []
    one = await mc.stub.GetPodMetrics(metrics_pb2.GetMetricsRequest(name="busy"))
    assert one.metadata.name == "busy"


def _requests(code: str) -> float:
    labels = {
        "verb": "LIST", "group": "metrics.k8s.io", "version": "v1beta1", "resource": "pods",
        "subresource": "", "scope": "cluster", "component": "apiserver", "code": code,
    }  # fmt: skip
    return REGISTRY.get_sample_value("apiserver_request_total", labels) or 0.0


async def test_refusals_through_grpc_and_rest(metrics_cluster: MetricsCluster) -> None:
    mc = metrics_cluster
    refused_before = _requests("400")
    bad = metrics_pb2.ListMetricsRequest(label_selector="app in (web")
    for call in (mc.stub.ListPodMetrics, mc.stub.ListNodeMetrics):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(bad)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _requests("400") == refused_before + 1  # counted as kube-apiserver counts
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await mc.stub.GetPodMetrics(metrics_pb2.GetMetricsRequest(name="nope"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    base = "/apis/metrics.k8s.io/v1beta1"
    for path in (f"{base}/pods", f"{base}/nodes", f"{base}/namespaces/default/pods"):
        async with mc.http.get(path, params={"labelSelector": "app in (web"}) as answer:
            body = await answer.json()
            assert answer.status == 400, body
            assert body["kind"] == "Status" and body["reason"] == "BadRequest"
    async with mc.http.get(f"{base}/namespaces/default/pods/nope") as answer:
        assert answer.status == 404
        message = (await answer.json())["message"]
        assert message == 'podmetrics.metrics.k8s.io "default/nope" not found'


async def test_rest_discovery_and_lists(metrics_cluster: MetricsCluster) -> None:
    mc = metrics_cluster
    async with mc.http.get("/apis") as answer:
        groups = {g["name"]: g for g in (await answer.json())["groups"]}
    assert groups["metrics.k8s.io"]["preferredVersion"]["version"] == "v1beta1"
    async with mc.http.get("/apis/metrics.k8s.io/v1beta1") as answer:
        resources = {r["name"]: r for r in (await answer.json())["resources"]}
    assert resources["pods"]["kind"] == "PodMetrics" and resources["pods"]["namespaced"]
    assert resources["nodes"]["verbs"] == ["get", "list"]

    await _busy_pod(mc)
    await _pod_metrics(mc, "busy")
    async with mc.http.get(
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", params={"labelSelector": "app=busy"}
    ) as answer:
        body = await answer.json()
    assert body["kind"] == "PodMetricsList" and body["apiVersion"] == "metrics.k8s.io/v1beta1"
    (item,) = body["items"]
    assert item["containers"][0]["usage"]["memory"] == "65536Ki"
    assert item["window"].endswith("s") and item["timestamp"].endswith("Z")
    async with mc.http.get(f"/apis/metrics.k8s.io/v1beta1/nodes/{mc.cluster.nodes[0]}") as answer:
        node = await answer.json()
    assert node["kind"] == "NodeMetrics" and set(node["usage"]) == {"cpu", "memory"}


@pytest.mark.usefixtures("needs_kubectl")
async def test_kubectl_top_and_shoal_top(metrics_cluster: MetricsCluster) -> None:
    mc = metrics_cluster
    await _busy_pod(mc)
    await _pod_metrics(mc, "busy")

    async def node_metrics_for_all() -> bool:
        listed = await mc.stub.ListNodeMetrics(metrics_pb2.ListMetricsRequest())
        return len(listed.items) == len(mc.cluster.nodes)

    await eventually(node_metrics_for_all, timeout=30)

    pods = await mc.kubectl("top", "pods")
    assert pods.code == 0, pods.err
    assert pods.out.split("\n")[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert pods.out.split("\n")[1].split() == ["busy", "250m", "64Mi"]
    every = await mc.kubectl("top", "pods", "-A", "--containers", "-l", "app=busy")
    assert every.code == 0, every.err
    assert every.out.split("\n")[1].split() == ["default", "busy", "main", "250m", "64Mi"]
    nodes = await mc.kubectl("top", "nodes")
    assert nodes.code == 0, nodes.err
    assert nodes.out.split("\n")[0].split() == [
        "NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)",
    ]  # fmt: skip
    busy_node = next(line.split() for line in nodes.out.splitlines() if mc.cluster.nodes[0] in line)
    assert busy_node[1:] == ["250m", "6%", "64Mi", "0%"]  # of 4 cores, 8Gi: its one pod

    ours = await mc.shoal("top", "pods")
    assert ours.code == 0, ours.err
    assert ours.out.splitlines()[1].split() == ["busy", "250m", "64Mi"]
    ours_nodes = await mc.shoal("top", "nodes")
    assert ours_nodes.code == 0, ours_nodes.err
    assert ours_nodes.out.splitlines()[0].split() == [
        "NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%",
    ]  # fmt: skip
    ours_busy = next(
        line.split() for line in ours_nodes.out.splitlines() if mc.cluster.nodes[0] in line
    )
    assert ours_busy[1:] == busy_node[1:]
    containers = await mc.shoal("top", "pod", "busy", "--containers")
    assert containers.out.splitlines()[1].split() == ["busy", "main", "250m", "64Mi"]
    refused = await mc.shoal("top", "pods", "-l", "app in (x")
    assert refused.code != 0 and "Traceback" not in refused.err


async def test_without_the_metrics_plugin_the_api_is_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shoal.client import Client
    from shoal.plugin_manager import reset_plugin_manager
    from shoal.testing import start_server

    monkeypatch.setenv("SHOAL_DISABLE_PLUGINS", "metrics")
    reset_plugin_manager()
    server = await start_server(tmp_path)
    client = Client(f"127.0.0.1:{server.port}")
    gateway = Gateway(client)
    await gateway.start("127.0.0.1:0")
    try:
        served = {name for s in server.api_services for name in s.service_names}
        assert "shoal.v1.Metrics" not in served  # other plugins may serve theirs
        async with (
            aiohttp.ClientSession(gateway.url) as http,
            http.get("/apis/metrics.k8s.io/v1beta1/pods") as answer,
        ):
            assert answer.status == 404
        address = f"127.0.0.1:{server.port}"
        refused = await asyncio.to_thread(invoke, ["--server", address, "top", "pods"])
        assert refused.code == 1 and "no metrics plugin" in refused.err
    finally:
        await gateway.stop()
        await client.close()
        await server.stop(grace=0)
        monkeypatch.delenv("SHOAL_DISABLE_PLUGINS")
        reset_plugin_manager()
