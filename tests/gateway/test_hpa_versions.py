"""HorizontalPodAutoscaler served at two versions, autoscaling/v2 (stored,
preferred) and autoscaling/v1, both views of one object: real ``kubectl
autoscale`` (which posts v1), ``kubectl get hpa.v1.autoscaling``, the
official Python client's AutoscalingV1Api, and shoal's gRPC client with v1
messages. See plugins/kinds/autoscaling_v1.py and docs/autoscaling.md."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest
from shoal import errors
from shoal.api.v1 import autoscaling_v1_pb2

from tests.ctl.conftest import invoke
from tests.gateway.conftest import GatewayServer
from tests.gateway.test_kubectl_hpa import WEB
from tests.requirements import require_module

kubernetes = require_module("kubernetes")
pytestmark = pytest.mark.usefixtures("needs_kubectl")
# kubectl 1.32 drops the version of a short name ("hpa.v1.autoscaling" reads
# the preferred v2, as against a Kubernetes cluster): the resource's own name.
V1 = "horizontalpodautoscalers.v1.autoscaling"

V2_WITH_MORE = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "both"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 4,
        "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 60}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {
                "type": "AverageValue", "averageValue": "64Mi"}}},
        ],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 30}},
    },
}  # fmt: skip


async def kubectl_json(gw: GatewayServer, *args: str) -> Any:
    done = await gw.kubectl(*args, "-o", "json")
    assert done.code == 0, done.err
    return json.loads(done.out)


async def test_kubectl_autoscale_posts_v1_and_both_versions_read_it(
    gateway_server: GatewayServer,
) -> None:
    gw = gateway_server
    assert (await gw.kubectl("apply", "-f", "-", input=json.dumps(WEB))).code == 0
    done = await gw.kubectl("autoscale", "deployment", "web", "--min=1", "--max=4",
                            "--cpu-percent=50")  # fmt: skip
    assert done.code == 0, done.err
    assert done.out.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled"
    v1 = await kubectl_json(gw, "get", V1, "web")
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1,
        "maxReplicas": 4,
        "targetCPUUtilizationPercentage": 50,
    }
    shown = await kubectl_json(gw, "get", V1, "web", "--show-managed-fields")
    managers = {(e["manager"], e["apiVersion"]) for e in shown["metadata"]["managedFields"]}
    assert ("kubectl-autoscale", "autoscaling/v1") in managers  # what kubectl 1.32 posted
    v2 = await kubectl_json(gw, "get", "hpa", "web")
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 50}}},
    ]  # fmt: skip
    assert v2["metadata"]["resourceVersion"] == v1["metadata"]["resourceVersion"]
    table = await gw.kubectl("get", V1, "--no-headers")
    assert table.out.split()[:6] == ["web", "Deployment/web", "cpu:", "<unknown>/50%", "1", "4"]


async def test_what_v1_cannot_say_round_trips_in_annotations(
    gateway_server: GatewayServer,
) -> None:
    gw = gateway_server
    assert (await gw.kubectl("create", "-f", "-", input=json.dumps(V2_WITH_MORE))).code == 0
    v1 = await kubectl_json(gw, "get", V1, "both")
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 60
    annotations = v1["metadata"]["annotations"]
    assert json.loads(annotations["autoscaling.alpha.kubernetes.io/metrics"]) == [
        V2_WITH_MORE["spec"]["metrics"][1]  # type: ignore[index]
    ]
    behavior = json.loads(annotations["autoscaling.alpha.kubernetes.io/behavior"])
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 30
    # an update through v1 (gRPC, the v1 message) changes the CPU target only
    obj = await gw.client.get(V1, "both", "default")
    assert isinstance(obj, autoscaling_v1_pb2.HorizontalPodAutoscalerV1)
    obj.spec.target_cpu_utilization_percentage = 70
    obj.spec.max_replicas = 6
    await gw.client.update(obj)
    v2 = await kubectl_json(gw, "get", "hpa", "both")
    metrics = v2["spec"]["metrics"]
    assert metrics[0]["resource"]["target"]["averageUtilization"] == 70
    assert metrics[1] == V2_WITH_MORE["spec"]["metrics"][1]  # type: ignore[index]
    assert v2["spec"]["maxReplicas"] == 6
    assert v2["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 30
    assert "annotations" not in v2["metadata"]  # the stored object carries none


async def test_status_written_as_v2_reads_as_v1(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    assert (await gw.kubectl("create", "-f", "-", input=json.dumps(V2_WITH_MORE))).code == 0
    obj = await gw.client.get("hpa", "both", "default")
    obj.status.current_replicas, obj.status.desired_replicas = 2, 3
    metric = obj.status.current_metrics.add(type="Resource")
    metric.resource.name = "cpu"
    metric.resource.current.average_utilization = 85
    await gw.client.update_status(obj)
    v1 = await kubectl_json(gw, "get", V1, "both")
    assert v1["status"] == {
        "currentReplicas": 2,
        "desiredReplicas": 3,
        "currentCPUUtilizationPercentage": 85,
    }
    assert "autoscaling.alpha.kubernetes.io/current-metrics" in v1["metadata"]["annotations"]
    table = await gw.kubectl("get", V1, "both", "--no-headers")
    assert "cpu: 85%/60%" in table.out, table.out


async def test_discovery_serves_both_versions_v2_preferred(gateway_server: GatewayServer) -> None:
    async with gateway_server.http.get("/apis/autoscaling") as response:
        group = await response.json()
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"
    async with gateway_server.http.get("/apis/autoscaling/v1") as response:
        resources = {r["name"]: r for r in (await response.json())["resources"]}
    assert resources["horizontalpodautoscalers"]["kind"] == "HorizontalPodAutoscaler"
    assert "horizontalpodautoscalers/status" in resources
    versions = await gateway_server.kubectl("api-versions")
    assert "autoscaling/v1" in versions.out.split() and "autoscaling/v2" in versions.out.split()


async def test_a_bad_v1_autoscaler_is_refused_through_rest_and_grpc(
    gateway_server: GatewayServer,
) -> None:
    gw = gateway_server
    bad = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "bad"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 2,
            "targetCPUUtilizationPercentage": 0,
        },
    }
    async with gw.http.post(
        "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", json=bad
    ) as response:
        assert response.status == 422
        assert (
            "spec.targetCPUUtilizationPercentage: Invalid value: 0"
            in ((await response.json())["message"])
        )
    bad["spec"]["targetCPUUtilizationPercentage"] = 50  # type: ignore[index]
    bad["metadata"]["annotations"] = {"autoscaling.alpha.kubernetes.io/metrics": "{nope"}  # type: ignore[index]
    async with gw.http.post(
        "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", json=bad
    ) as response:
        assert response.status == 422
        assert "autoscaling.alpha.kubernetes.io/metrics" in (await response.json())["message"]
    msg = autoscaling_v1_pb2.HorizontalPodAutoscalerV1(
        api_version="autoscaling/v1", kind="HorizontalPodAutoscaler"
    )
    msg.metadata.name = "bad"
    msg.spec.scale_target_ref.kind, msg.spec.scale_target_ref.name = "Deployment", "web"
    msg.spec.min_replicas, msg.spec.max_replicas = 3, 2
    with pytest.raises(errors.InvalidError) as refused:
        await gw.client.create(msg)
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.maxReplicas: Invalid value: 2" in str(refused.value)
    assert (await gw.kubectl("get", "hpa", "-o", "name")).out == ""


def _python_client(url: str) -> tuple[Any, Any, Any]:
    configuration = kubernetes.client.Configuration()
    configuration.host = url
    m = kubernetes.client
    with m.ApiClient(configuration) as api:
        v1 = m.AutoscalingV1Api(api)
        body = m.V1HorizontalPodAutoscaler(
            metadata=m.V1ObjectMeta(name="py"),
            spec=m.V1HorizontalPodAutoscalerSpec(
                scale_target_ref=m.V1CrossVersionObjectReference(
                    api_version="apps/v1", kind="Deployment", name="web"
                ),
                max_replicas=3,
                target_cpu_utilization_percentage=40,
            ),
        )
        created = v1.create_namespaced_horizontal_pod_autoscaler("default", body)
        v1.patch_namespaced_horizontal_pod_autoscaler(
            "py", "default", {"spec": {"targetCPUUtilizationPercentage": 45}}
        )
        listed = v1.list_namespaced_horizontal_pod_autoscaler("default")
        v2 = m.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler("py", "default")
        v1.delete_namespaced_horizontal_pod_autoscaler("py", "default")
        return created, listed, v2


async def test_python_client_autoscaling_v1(gateway_server: GatewayServer) -> None:
    created, listed, v2 = await asyncio.to_thread(_python_client, gateway_server.url)
    assert created.spec.min_replicas == 1 and created.spec.target_cpu_utilization_percentage == 40
    assert [(h.metadata.name, h.spec.target_cpu_utilization_percentage) for h in listed.items] == [
        ("py", 45)
    ]
    assert v2.spec.metrics[0].resource.target.average_utilization == 45
    assert (await gateway_server.client.list("hpa", "default")).items == []


async def _first_change(gw: GatewayServer, kind: str, version: str) -> Any:
    async for event in gw.client.watch(kind, "default", resource_version=version):
        return event


async def test_watchers_of_each_version_get_their_own(gateway_server: GatewayServer) -> None:
    """Watchers of v1 and v2 share one store watch and its event cache; each
    gets the object in its version (gRPC, and the gateway's JSON watch)."""
    gw = gateway_server
    assert (await gw.kubectl("create", "-f", "-", input=json.dumps(V2_WITH_MORE))).code == 0
    obj = await gw.client.get("hpa", "both", "default")
    start = obj.metadata.resource_version
    v1_watch = asyncio.ensure_future(_first_change(gw, V1, start))
    v2_watch = asyncio.ensure_future(_first_change(gw, "hpa", start))
    url = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
    async with gw.http.get(url, params={"watch": "1", "resourceVersion": start}) as response:
        obj.status.desired_replicas = 3
        await gw.client.update_status(obj)
        line = await asyncio.wait_for(response.content.readline(), 30)
    rest = json.loads(line)
    assert rest["object"]["apiVersion"] == "autoscaling/v1"
    assert rest["object"]["status"]["desiredReplicas"] == 3
    v1_event, v2_event = await asyncio.wait_for(asyncio.gather(v1_watch, v2_watch), 30)
    assert isinstance(v1_event.object, autoscaling_v1_pb2.HorizontalPodAutoscalerV1)
    assert v1_event.object.spec.target_cpu_utilization_percentage == 60
    assert v2_event.object.api_version == "autoscaling/v2"
    assert v2_event.object.status.desired_replicas == 3


async def test_kubectl_explain_each_version(gateway_server: GatewayServer) -> None:
    v1 = await gateway_server.kubectl("explain", "hpa.spec", "--api-version=autoscaling/v1")
    assert v1.code == 0, v1.err
    assert "VERSION:    v1" in v1.out and "targetCPUUtilizationPercentage" in v1.out, v1.out
    v2 = await gateway_server.kubectl("explain", "hpa.spec")
    assert v2.code == 0, v2.err
    assert "VERSION:    v2" in v2.out and "behavior" in v2.out, v2.out


V1_MANIFEST = {
    "apiVersion": "autoscaling/v1",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "applied"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 3,
        "targetCPUUtilizationPercentage": 40,
    },
}


@pytest.mark.parametrize("server_side", [False, True])
async def test_kubectl_apply_a_v1_manifest_twice(
    gateway_server: GatewayServer, server_side: bool
) -> None:
    gw = gateway_server
    flags = ["--server-side"] if server_side else []
    first = await gw.kubectl("apply", *flags, "-f", "-", input=json.dumps(V1_MANIFEST))
    assert first.code == 0, first.err
    changed = json.loads(json.dumps(V1_MANIFEST))
    changed["spec"]["targetCPUUtilizationPercentage"] = 70
    again = await gw.kubectl("apply", *flags, "-f", "-", input=json.dumps(changed))
    assert again.code == 0, again.err
    v2 = await kubectl_json(gw, "get", "hpa", "applied")
    assert v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert v2["spec"]["maxReplicas"] == 3
    shoal_table = await asyncio.to_thread(
        invoke, ["--server", gw.client.target, "get", V1, "applied", "--no-headers"]
    )
    assert shoal_table.out.split()[:6] == [
        "applied", "Deployment/web", "cpu:", "<unknown>/70%", "1", "3"
    ], shoal_table.out  # fmt: skip
