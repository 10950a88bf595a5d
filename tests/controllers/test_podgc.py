"""Pod garbage collection (Kubernetes' PodGC): pods of a deleted node go
after the quarantine and their ReplicaSet replaces them on the nodes left
(hollow nodes); terminated pods above the threshold go oldest first; an
unscheduled pod held in deletion is marked Failed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
import pytest
from shoal.agent.agent import Agent
from shoal.agent.testing import start_cluster, stop_cluster
from shoal.client import Client
from shoal.plugins.controllers.podgc import PodGCController, terminated_to_delete
from shoal.plugins.controllers.podutil import is_ready
from shoal.testing import start_server

from tests.ctl.test_durations import _command
from tests.integration.helpers import eventually, obj

FAST = {"pod_gc_quarantine": 0.5, "pod_gc_period": 0.1}


def replicaset(replicas: int) -> Any:
    return obj({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "main", "image": "shoal.local/busybox",
                                         "command": ["sleep", "3600"]}]},
            },
        },
    })  # fmt: skip


async def web_pods(client: Client) -> list[Any]:
    listed = await client.list("Pod")
    return [p for p in listed.items if p.metadata.labels.get("app") == "web"]


async def test_pods_of_a_deleted_node_are_replaced_on_the_nodes_left(tmp_path: Path) -> None:
    cluster = await start_cluster(tmp_path, nodes=2, controller_options=FAST)
    extra = None
    try:
        client = cluster.client
        options = dataclasses.replace(
            cluster.agent.options, name="late", hollow_nodes=1, data_dir=tmp_path / "late"
        )
        extra = Agent(options)
        await extra.start()
        (late,) = sorted(extra.nodes)
        await client.create(replicaset(6))

        async def running_on_late() -> list[Any]:
            pods = await web_pods(client)
            ready = [p for p in pods if is_ready(p)]
            on_late = [p for p in pods if p.spec.node_name == late]
            return on_late if len(ready) == 6 and on_late else []

        orphans = await eventually(running_on_late, timeout=30)
        await extra.stop()  # the node's agent is gone, and so is its Node
        extra = None
        await client.delete("Node", late)

        async def replaced() -> bool:
            pods = await web_pods(client)
            uids = {p.metadata.uid for p in pods}
            return (
                len(pods) == 6
                and all(p.spec.node_name in cluster.nodes and is_ready(p) for p in pods)
                and not uids & {o.metadata.uid for o in orphans}
            )

        await eventually(replaced, timeout=30)
    finally:
        if extra is not None:
            await extra.stop()
        await stop_cluster(cluster)


def _pod(name: str, **extra: Any) -> Any:
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "gc"}},
        "spec": {
            "schedulerName": "nobody",  # left alone by the scheduler
            "containers": [{"name": "main", "image": "shoal.local/busybox"}],
        },
    }
    manifest["metadata"].update(extra)
    return obj(manifest)


async def _finish(client: Client, name: str, phase: str) -> None:
    pod = await client.get("Pod", name)
    pod.status.phase = phase
    await client.update_status(pod)


async def test_terminated_pods_above_the_threshold_go_oldest_first(tmp_path: Path) -> None:
    server = await start_server(tmp_path)
    client = Client(f"127.0.0.1:{server.port}")
    try:
        for i in range(5):
            await client.create(_pod(f"p{i}"))
        for i, phase in enumerate(["Succeeded", "Failed", "Succeeded", "Running", "Succeeded"]):
            await _finish(client, f"p{i}", phase)
        controller = PodGCController(client, options={**FAST, "terminated_pod_gc_threshold": 2})
        controller.pods.start()
        controller.nodes.start()
        await controller.pods.wait_synced()
        await controller.nodes.wait_synced()

        async def names() -> set[str]:
            await controller.gc()
            return {p.metadata.name for p in (await client.list("Pod")).items}

        # four terminated, two kept: the newest two (p2, p4) and the running p3
        assert await eventually(lambda: _left(names, {"p2", "p3", "p4"}), timeout=10)
        await controller.pods.stop()
        await controller.nodes.stop()
    finally:
        await client.close()
        await server.stop()


async def _left(names: Any, wanted: set[str]) -> bool:
    return await names() == wanted


def test_evicted_pods_go_first_and_zero_keeps_all() -> None:
    pods = []
    for i, reason in enumerate(["", "Evicted", "", ""]):
        p = _pod(f"p{i}")
        p.status.phase = "Failed"
        p.status.reason = reason
        p.metadata.creation_timestamp.seconds = 100 + i
        pods.append(p)
    assert [p.metadata.name for p in terminated_to_delete(pods, 2)] == ["p1", "p0"]
    assert terminated_to_delete(pods, 0) == []
    assert terminated_to_delete(pods, 4) == []


async def test_an_unscheduled_pod_held_in_deletion_is_failed(tmp_path: Path) -> None:
    server = await start_server(tmp_path)
    client = Client(f"127.0.0.1:{server.port}")
    try:
        await client.create(_pod("held", finalizers=["example.com/hold"]))
        await client.delete("Pod", "held")
        controller = PodGCController(client, options=FAST)

        async def failed() -> bool:
            await controller.gc()
            return (await client.get("Pod", "held")).status.phase == "Failed"

        controller.pods.start()
        controller.nodes.start()
        await controller.pods.wait_synced()
        await eventually(failed, timeout=10)
        pod = await client.get("Pod", "held")
        del pod.metadata.finalizers[:]
        await client.update(pod)
        assert not [p for p in (await client.list("Pod")).items if p.metadata.name == "held"]
        await controller.pods.stop()
        await controller.nodes.stop()
    finally:
        await client.close()
        await server.stop()


@pytest.mark.parametrize("path", [("server",), ("controller-manager",)])
def test_the_threshold_flag(path: tuple[str, ...]) -> None:
    command = _command(path)
    assert command.make_context(path[-1], []).params["terminated_pod_gc_threshold"] == 12500
    ctx = command.make_context(path[-1], ["--terminated-pod-gc-threshold", "100"])
    assert ctx.params["terminated_pod_gc_threshold"] == 100
    with pytest.raises(click.BadParameter, match="-1 is not in the range x>=0"):
        command.make_context(path[-1], ["--terminated-pod-gc-threshold", "-1"])
