"""HorizontalPodAutoscalers through the gateway and the CLI: ``shoal
autoscale`` creates one (autoscaling/v2), ``kubectl get hpa`` and ``shoal
get hpa`` print kubectl 1.32's columns, and a bad one is refused through
REST (kubectl) and gRPC (shoal) alike.

``kubectl autoscale`` (1.32) posts an autoscaling/v1 object:
test_hpa_versions.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.ctl.conftest import invoke
from tests.gateway.conftest import GatewayServer

pytestmark = pytest.mark.usefixtures("needs_kubectl")

WEB = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "busybox"}]},
        },
    },
}
HEADERS = ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]


async def shoal(gw: GatewayServer, *args: str, input: str | None = None) -> Any:
    return await asyncio.to_thread(invoke, ["--server", gw.client.target, *args], input)


async def test_shoal_autoscale_then_get_hpa(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    created = await gw.kubectl("apply", "-f", "-", input=json.dumps(WEB))
    assert created.code == 0, created.err
    done = await shoal(gw, "autoscale", "deployment/web", "--min=2", "--max=5", "--cpu-percent=50")
    assert done.code == 0, done.err
    assert done.out == "horizontalpodautoscaler.autoscaling/web autoscaled\n"
    got = await gw.kubectl("get", "hpa", "web", "-o", "json")
    assert got.code == 0, got.err
    hpa = json.loads(got.out)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    row = ["web", "Deployment/web", "cpu:", "<unknown>/50%", "2", "5", "0"]
    table = await gw.kubectl("get", "hpa")
    assert table.code == 0, table.err
    header, line = table.out.splitlines()[:2]
    assert header.split() == HEADERS
    assert line.split()[:7] == row
    listed = await shoal(gw, "get", "hpa")
    assert listed.code == 0, listed.err
    header, line = listed.out.splitlines()[:2]
    assert header.split() == HEADERS
    assert line.split()[:7] == row


async def test_autoscale_defaults_to_80_percent_and_one_pod(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    await gw.kubectl("apply", "-f", "-", input=json.dumps(WEB))
    done = await shoal(gw, "autoscale", "deploy", "web", "--max=3")
    assert done.code == 0, done.err
    table = await gw.kubectl("get", "hpa", "web", "--no-headers")
    assert table.out.split()[:6] == ["web", "Deployment/web", "cpu:", "<unknown>/80%", "1", "3"]
    described = await gw.kubectl("describe", "hpa", "web")
    assert described.code == 0, described.err
    assert "Reference:" in described.out and "Deployment/web" in described.out, described.out
    assert "Min replicas:" in described.out and "Max replicas:" in described.out, described.out


async def test_a_bad_autoscaler_is_refused_through_rest_and_grpc(
    gateway_server: GatewayServer,
) -> None:
    gw = gateway_server
    bad = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 3,
            "maxReplicas": 2,
        },
    }
    refused = await gw.kubectl("create", "-f", "-", input=json.dumps(bad))
    assert refused.code != 0
    assert "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`" in (
        refused.err
    ), refused.err
    async with gw.http.post(
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", json=bad
    ) as response:
        assert response.status == 422
    grpc_refused = await shoal(gw, "create", "-f", "-", input=json.dumps(bad))
    assert grpc_refused.code != 0
    assert "spec.maxReplicas: Invalid value: 2" in grpc_refused.err, grpc_refused.err
    await gw.kubectl("apply", "-f", "-", input=json.dumps(WEB))
    flags = await shoal(gw, "autoscale", "deployment/web", "--min=3", "--max=2")
    assert flags.code != 0 and "--max=MAXPODS must be larger or equal" in flags.err
    missing = await shoal(gw, "autoscale", "deployment/nobody", "--max=2")
    assert missing.code != 0 and "not found" in missing.err
    assert (await gw.kubectl("get", "hpa", "-o", "name")).out == ""
