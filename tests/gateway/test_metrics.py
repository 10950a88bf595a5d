"""``/metrics`` on the gateway: the API server's request metrics in the
Prometheus text format, for kubectl get --raw, and refused to a view user."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from shoal.api.v1 import core_pb2

from tests.gateway.conftest import GatewayCluster, GatewayServer

CREATED_CONFIGMAPS = {"verb": "POST", "resource": "configmaps", "code": "201"}


def sample(text: str, metric: str, **labels: str) -> float:
    """The sum of ``metric``'s samples whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == metric and labels.items() <= s.labels.items():
                total += s.value
    return total


def names(text: str) -> set[str]:
    """The families a scrape declares (with or without samples) and its samples' names."""
    families = list(text_string_to_metric_families(text))
    return {f.name for f in families} | {s.name for f in families for s in f.samples}


async def scrape(gw: GatewayServer) -> str:
    async with gw.http.get("/metrics") as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "text/plain"
        return await response.text()


async def test_grpc_create_is_counted_as_kubernetes_counts_a_post(
    gateway_server: GatewayServer,
) -> None:
    before = await scrape(gateway_server)
    cm = core_pb2.ConfigMap()
    cm.metadata.name, cm.metadata.namespace = "counted", "default"
    await gateway_server.client.create(cm)
    after = await scrape(gateway_server)
    counted = sample(after, "apiserver_request_total", **CREATED_CONFIGMAPS)
    assert counted == sample(before, "apiserver_request_total", **CREATED_CONFIGMAPS) + 1
    labels = {"verb": "POST", "resource": "configmaps", "scope": "resource"}
    assert sample(after, "apiserver_request_duration_seconds_count", **labels) >= 1
    # the scrape itself is a read in flight while it is served
    assert sample(after, "apiserver_current_inflight_requests", request_kind="readOnly") >= 1
    stored = {"operation": "create", "type": "configmaps"}
    writes = sample(after, "etcd_request_duration_seconds_count", **stored)
    assert writes == sample(before, "etcd_request_duration_seconds_count", **stored) + 1
    assert sample(after, "apiserver_storage_objects", resource="configmaps") >= 1
    for name in (
        "apiserver_current_inflight_requests",
        "process_cpu_seconds",
        "python_info",
        "workqueue_depth",
        "scheduler_pending_pods",
    ):
        assert name in names(after), name


async def test_rest_create_counts_once_with_its_http_code(gateway_server: GatewayServer) -> None:
    """The gateway counts the REST request; the gRPC calls it makes for it
    are not counted a second time."""
    before = await scrape(gateway_server)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rest"}}
    async with gateway_server.http.post("/api/v1/namespaces/default/configmaps", json=body) as r:
        assert r.status == 201
    async with gateway_server.http.post("/api/v1/namespaces/default/configmaps", json=body) as r:
        assert r.status == 409
    async with gateway_server.http.get("/api/v1/namespaces/default/configmaps") as r:
        assert r.status == 200
    after = await scrape(gateway_server)
    listed = {"verb": "LIST", "resource": "configmaps", "scope": "namespace", "code": "200"}
    grew = sample(after, "apiserver_request_total", **listed)
    assert grew == sample(before, "apiserver_request_total", **listed) + 1
    for code in ("201", "409"):
        labels = {**CREATED_CONFIGMAPS, "code": code}
        grew = sample(after, "apiserver_request_total", **labels)
        assert grew == sample(before, "apiserver_request_total", **labels) + 1, code


@pytest.mark.usefixtures("needs_kubectl")
async def test_kubectl_get_raw_metrics_and_a_view_user_is_forbidden(
    gateway_server: GatewayServer,
) -> None:
    k = gateway_server.kubectl
    raw = await k("get", "--raw", "/metrics")
    assert raw.code == 0, raw.err
    assert "apiserver_request_total" in names(raw.out)
    assert "apiserver_request_created" not in names(raw.out)  # as Kubernetes: no _created
    bound = await k(
        "create", "clusterrolebinding", "jane-view", "--clusterrole=view", "--user=jane"
    )  # fmt: skip
    assert bound.code == 0, bound.err
    pods = await k("get", "pods", "--as=jane")
    assert pods.code == 0, pods.err  # jane can read...
    refused = await k("get", "--raw", "/metrics", "--as=jane")
    assert refused.code != 0  # ...but not the metrics
    assert "Error from server (Forbidden)" in refused.err, refused.err


@pytest.mark.usefixtures("needs_kubectl")
async def test_health_checks_through_kubectl_and_plain_http(
    gateway_server: GatewayServer,
) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        raw = await gateway_server.kubectl("get", "--raw", path)
        assert (raw.code, raw.out) == (0, "ok"), raw.err
        async with gateway_server.http.get(path) as response:
            assert (response.status, await response.text()) == (200, "ok")


async def _poll(read: Any, done: Any, what: str, deadline: float = 30.0) -> str:
    """Read until ``done(text)`` or the deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        text = await read()
        if done(text):
            return text
        assert loop.time() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_scheduler_controllers_and_kubelet_metrics_move(
    gateway_cluster: GatewayCluster,
) -> None:
    """A pod scheduled and run on a hollow node moves the scheduler's
    attempts, the controllers' queues and the agent's running pods."""
    gc = gateway_cluster
    scraped = await _scrape_url(gc.http, "/metrics")
    scheduled = {"result": "scheduled", "profile": "default-scheduler"}
    attempts = sample(scraped, "scheduler_schedule_attempts_total", **scheduled)
    body = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "counted"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "counted"}},
            "template": {
                "metadata": {"labels": {"app": "counted"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    async with gc.http.post("/apis/apps/v1/namespaces/default/replicasets", json=body) as r:
        assert r.status == 201, await r.text()
    await _poll(
        lambda: _scrape_url(gc.http, "/metrics"),
        lambda t: sample(t, "scheduler_schedule_attempts_total", **scheduled) > attempts,
        "a scheduling attempt",
    )
    after = await _scrape_url(gc.http, "/metrics")
    assert sample(after, "workqueue_adds_total", name="replicaset") >= 1
    assert sample(after, "workqueue_work_duration_seconds_count", name="replicaset") >= 1
    assert sample(after, "scheduler_scheduling_attempt_duration_seconds_count", **scheduled)
    assert "scheduler_pending_pods" in names(after)
    assert "workqueue_depth" in names(after)
    port = gc.cluster.agent.metrics_port
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as kubelet:
        text = await _poll(
            lambda: _scrape_url(kubelet, "/metrics"),
            lambda t: sample(t, "kubelet_running_pods") >= 1,
            "a running pod on a hollow node",
        )
    assert sample(text, "kubelet_running_containers", container_state="running") >= 1
    assert sample(text, "kubelet_runtime_operations_total", operation_type="start_container")
    assert sample(text, "kubelet_pod_start_duration_seconds_count") >= 1
    assert "process_cpu_seconds" in names(text)


async def _scrape_url(http: aiohttp.ClientSession, path: str) -> str:
    async with http.get(path) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def test_an_open_watch_is_a_long_running_request(gateway_server: GatewayServer) -> None:
    watching = {"verb": "WATCH", "resource": "configmaps", "scope": "namespace"}
    path = "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1"
    async with gateway_server.http.get(path) as watch:
        assert watch.status == 200
        during = await scrape(gateway_server)
        assert sample(during, "apiserver_longrunning_requests", **watching) == 1
        await watch.read()  # the server ends it after timeoutSeconds
    after = await _poll(
        lambda: scrape(gateway_server),
        lambda t: sample(t, "apiserver_longrunning_requests", **watching) == 0,
        "the watch to end",
    )
    assert sample(after, "apiserver_request_total", **watching, code="200") >= 1
