"""The horizontal pod autoscaler on a real agent (Docker and Podman): a pod
spinning a busy loop uses far more CPU than its 100m request, the metrics
API reports it, and the autoscaler scales its ReplicationController up to
maxReplicas (only the autoscaler runs, so the test reads the replicas it
wrote). Then a whole loop: a Deployment whose pods spin until told to stop
is scaled up by the real deployment, replica set and autoscaler controllers,
and down once the load stops, windows shortened by the controller's flags
(``--horizontal-pod-autoscaler-sync-period``,
``--horizontal-pod-autoscaler-downscale-stabilization``) and the server's
``--metric-resolution`` (1 s, the cluster fixture's)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from shoal.controlplane import ControlPlane, ControlPlaneOptions
from shoal.manifest import from_dict
from shoal.plugins.controllers.horizontalpodautoscaler import HorizontalPodAutoscalerController

from tests.e2e.agents import BUSYBOX_IMAGE, E2ENode, busybox_pod, exec_in, watch_pod
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


# Spins (a shell builtin loop, no forks) until /tmp/stop exists, then idles.
SPIN_UNTIL_STOPPED = "while [ ! -e /tmp/stop ]; do :; done; exec sleep 3600"


def busy_deployment(node: str) -> dict[str, Any]:
    labels = {"app": "busy"}
    container = {
        "name": "spin",
        "image": BUSYBOX_IMAGE,
        "imagePullPolicy": "Never",
        "command": ["sh", "-c", SPIN_UNTIL_STOPPED],
        "resources": {"requests": {"cpu": "100m"}},
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "busy", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "nodeName": node, "terminationGracePeriodSeconds": 1,
                "containers": [container]}},
        },
    }  # fmt: skip


BUSY_HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "busy", "namespace": "default"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "busy"},
        "minReplicas": 1,
        "maxReplicas": 2,
        "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
    },
}  # fmt: skip


@contextlib.asynccontextmanager
async def workload_controllers(node: E2ENode) -> AsyncIterator[None]:
    """The deployment, replica set and autoscaler controllers, with the
    autoscaler's flags shortened (no behavior: the flag's window applies)."""
    options = ControlPlaneOptions(extra={
        "horizontal_pod_autoscaler_sync_period": 0.5,
        "horizontal_pod_autoscaler_downscale_stabilization": 3,
    })  # fmt: skip
    names = ["deployment", "replicaset", "horizontalpodautoscaler"]
    control_plane = ControlPlane(node.client, names, leader_elect=False, options=options)
    control_plane.start()
    try:
        yield
    finally:
        await control_plane.stop()


async def test_a_busy_deployment_scales_up_and_down_after_the_load_stops(
    cluster: E2ENode,
) -> None:
    client = cluster.client

    async def running_pods() -> list[Any]:
        pods = (await client.list("pods", "default", label_selector="app=busy")).items
        return [p for p in pods if running(p) and not p.metadata.HasField("deletion_timestamp")]

    async def replicas(n: int) -> bool:
        return (await client.get("deployment", "busy", "default")).spec.replicas == n

    async def pods_running(n: int) -> bool:
        return len(await running_pods()) == n

    async def events(message: str) -> bool:
        items = (await client.list("events", "default")).items
        return any(e.reason == "SuccessfulRescale" and e.message == message for e in items)

    async with workload_controllers(cluster):
        await client.create(from_dict(busy_deployment(cluster.node)))
        await eventually(lambda: pods_running(1), timeout=60, interval=0.2)
        await client.create(from_dict(BUSY_HPA))
        await eventually(lambda: replicas(2), timeout=90, interval=0.2)
        up = "New size: 2; reason: cpu resource utilization (percentage of request) above target"
        await eventually(lambda: events(up), timeout=10, interval=0.2)
        await eventually(lambda: pods_running(2), timeout=60, interval=0.2)
        for pod in await running_pods():  # the load stops
            code, _, err = await exec_in(
                cluster.streams, pod.metadata.name, "spin", ["touch", "/tmp/stop"]
            )
            assert code == 0, err
        await eventually(lambda: replicas(1), timeout=90, interval=0.2)
        down = "New size: 1; reason: All metrics below target"
        await eventually(lambda: events(down), timeout=10, interval=0.2)
        await eventually(lambda: pods_running(1), timeout=60, interval=0.2)
