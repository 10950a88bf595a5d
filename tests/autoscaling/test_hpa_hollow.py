"""The horizontal pod autoscaler on hollow nodes (fake runtime, modelled
usage set by pod annotations): a Deployment whose pods use twice their CPU
request is scaled up; once its pods use little, it is scaled down after the
HPA's (short) stabilization window. Through gRPC, the metrics API and the
real controllers of a test cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from shoal.agent.testing import Cluster, start_cluster, stop_cluster
from shoal.manifest import from_dict, to_dict

from tests.integration.helpers import eventually

USAGE = "fake.shoal.io/usage-cpu"


def deployment(usage: str) -> Any:
    labels = {"app": "web"}
    return from_dict({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": {USAGE: usage}},
                "spec": {"containers": [{"name": "main", "image": "shoal.local/busybox",
                                         "resources": {"requests": {"cpu": "100m"}}}]},
            },
        },
    })  # fmt: skip


def autoscaler(window: int) -> Any:
    return from_dict({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 4,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 2}},
        },
    })  # fmt: skip


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = await start_cluster(
        tmp_path,
        nodes=2,
        metric_resolution=0.3,
        controller_options={
            "horizontal_pod_autoscaler_sync_period": 0.5,
            # --horizontal-pod-autoscaler-downscale-stabilization: autoscalers
            # without a behavior wait this long (Kubernetes' default: 5 minutes)
            "horizontal_pod_autoscaler_downscale_stabilization": 2,
        },
    )
    try:
        yield cluster
    finally:
        await stop_cluster(cluster)


async def _hpa(cluster: Cluster) -> dict[str, Any]:
    return to_dict(await cluster.client.get("hpa", "web", "default"))


async def test_scales_up_on_high_usage_and_down_after_the_window(cluster: Cluster) -> None:
    client = cluster.client
    await client.create(deployment("200m"))  # 200% of the request
    await client.create(autoscaler(window=2))

    async def replicas(n: int) -> bool:
        return (await client.get("deployment", "web", "default")).spec.replicas == n

    await eventually(lambda: replicas(4), timeout=60)

    async def recorded(message: str) -> bool:
        events = (await client.list("events", "default")).items
        return any(e.reason == "SuccessfulRescale" and e.message == message for e in events)

    async def status_desired(n: int) -> bool:
        status = (await _hpa(cluster))["status"]
        able = {c["type"]: c["status"] for c in status.get("conditions") or []}
        return status["desiredReplicas"] == n and able.get("AbleToScale") == "True"

    await eventually(lambda: status_desired(4), timeout=10)
    up = "New size: 4; reason: cpu resource utilization (percentage of request) above target"
    await eventually(lambda: recorded(up), timeout=10)

    # New pods (a rollout) that use 10% of their request: scale down to 1.
    template = {"metadata": {"annotations": {USAGE: "10m"}}}
    await client.patch("deployment", "web", {"spec": {"template": template}}, "default")
    await eventually(lambda: replicas(1), timeout=90)
    await eventually(lambda: recorded("New size: 1; reason: All metrics below target"), 10)

    async def utilization_low() -> bool:
        metrics = (await _hpa(cluster))["status"].get("currentMetrics") or []
        return bool(metrics) and metrics[0]["resource"]["current"]["averageUtilization"] < 50

    await eventually(utilization_low, timeout=30)


async def test_conditions_say_why_it_cannot_scale(cluster: Cluster) -> None:
    client = cluster.client
    missing = autoscaler(window=2)
    missing.metadata.name = "nobody"
    missing.spec.scale_target_ref.name = "nobody"
    await client.create(missing)
    unknown = autoscaler(window=2)
    unknown.metadata.name = "widget"
    unknown.spec.scale_target_ref.kind = "Widget"
    await client.create(unknown)
    no_requests = deployment("200m")
    no_requests.spec.template.spec.containers[0].resources.ClearField("requests")
    await client.create(no_requests)
    await client.create(autoscaler(window=2))

    async def condition(name: str, type_: str) -> tuple[str, str] | None:
        status = to_dict(await client.get("hpa", name, "default"))["status"]
        found = [c for c in status.get("conditions") or [] if c["type"] == type_]
        return (found[0]["status"], found[0]["reason"]) if found else None

    async def reads(name: str, type_: str, want: tuple[str, str]) -> bool:
        return await condition(name, type_) == want

    await eventually(lambda: reads("nobody", "AbleToScale", ("False", "FailedGetScale")), 30)
    await eventually(lambda: reads("widget", "AbleToScale", ("False", "FailedGetScale")), 30)
    await eventually(
        lambda: reads("web", "ScalingActive", ("False", "FailedGetResourceMetric")), 30
    )
    assert (await client.get("deployment", "web", "default")).spec.replicas == 1


async def test_without_behavior_the_controller_window_applies(cluster: Cluster) -> None:
    """An autoscaler without ``behavior`` (here created as autoscaling/v1,
    which has none) scales down after the controller's
    --horizontal-pod-autoscaler-downscale-stabilization (2 s here), not 5 minutes."""
    client = cluster.client
    await client.create(deployment("200m"))
    await client.create(from_dict({
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 4, "targetCPUUtilizationPercentage": 50,
        },
    }))  # fmt: skip

    async def replicas(n: int) -> bool:
        return (await client.get("deployment", "web", "default")).spec.replicas == n

    await eventually(lambda: replicas(4), timeout=60)

    async def v1_status_shows(replicas: int) -> bool:
        v1 = await client.get("horizontalpodautoscalers.v1.autoscaling", "web", "default")
        status = v1.status
        return status.desired_replicas == replicas and status.current_cpu_utilization_percentage > 0

    await eventually(lambda: v1_status_shows(4), timeout=30)
    template = {"metadata": {"annotations": {USAGE: "10m"}}}
    await client.patch("deployment", "web", {"spec": {"template": template}}, "default")
    await eventually(lambda: replicas(1), timeout=90)
