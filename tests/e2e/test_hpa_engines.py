"""The horizontal pod autoscaler on a real agent (Docker and Podman): a pod
spinning a busy loop uses far more CPU than its 100m request, the metrics
API reports it, and the autoscaler scales its ReplicationController up to
maxReplicas. Only the autoscaler runs (no RC controller), so the test reads
the replicas it wrote."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from shoal.manifest import from_dict
from shoal.plugins.controllers.horizontalpodautoscaler import HorizontalPodAutoscalerController

from tests.e2e.agents import E2ENode, busybox_pod, watch_pod
from tests.e2e.test_agent_engines import running
from tests.e2e.test_metrics_engines import BUSY_LOOP, cluster
from tests.integration.helpers import eventually

pytestmark = pytest.mark.e2e
__all__ = ["cluster"]  # the fixture

RC = {
    "apiVersion": "v1",
    "kind": "ReplicationController",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "replicas": 1,
        "selector": {"app": "web"},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "spin", "image": "shoal.local/busybox"}]},
        },
    },
}
HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "v1", "kind": "ReplicationController", "name": "web"},
        "maxReplicas": 3,
        "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
    },
}  # fmt: skip


@contextlib.asynccontextmanager
async def autoscaler(node: E2ENode) -> AsyncIterator[None]:
    controller = HorizontalPodAutoscalerController(
        node.client, options={"horizontal_pod_autoscaler_sync_period": 0.5}
    )
    task = asyncio.create_task(controller.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_busy_pod_is_scaled_up_to_max(cluster: E2ENode) -> None:
    client = cluster.client
    await client.create(from_dict(RC))
    busy = busybox_pod("web-busy", cluster.node, {"spin": BUSY_LOOP})
    busy.metadata.labels["app"] = "web"
    busy.spec.containers[0].resources.requests["cpu"] = "100m"
    await client.create(busy)
    await watch_pod(client, "web-busy", running)
    await client.create(from_dict(HPA))

    async def scaled() -> bool:
        return (await client.get("rc", "web", "default")).spec.replicas == 3

    async def reported() -> bool:
        status = (await client.get("hpa", "web", "default")).status
        return (
            status.desired_replicas == 3
            and bool(status.current_metrics)
            and (status.current_metrics[0].resource.current.average_utilization > 100)
        )

    async with autoscaler(cluster):
        await eventually(scaled, timeout=90, interval=0.2)
        await eventually(reported, timeout=10, interval=0.2)
