"""``/metrics`` on the gateway: the API server's request metrics in the
Prometheus text format, for kubectl get --raw, and refused to a view user."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from shoal.api.v1 import core_pb2

from tests.gateway.conftest import GatewayServer

CREATED_CONFIGMAPS = {"verb": "POST", "resource": "configmaps", "code": "201"}


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
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
    after = await scrape(gateway_server)
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
