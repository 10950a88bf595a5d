"""DaemonSets on an in-process cluster of hollow nodes (server, control plane
with the scheduler, agents on the fake runtime): one pod per eligible node,
placed by the scheduler through node affinity; new nodes get theirs;
rolling updates keep to maxUnavailable / maxSurge."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from shoal.agent.agent import Agent
from shoal.agent.testing import start_cluster, stop_cluster
from shoal.client import Client
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers.history import HASH_LABEL

from tests.integration.helpers import eventually, obj, update_latest


def daemonset(image: str = "shoal.local/busybox", **spec: Any) -> Any:
    return obj(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {
                        "containers": [
                            {"name": "main", "image": image, "command": ["sleep", "3600"]}
                        ]
                    },
                },
                **spec,
            },
        }
    )


async def daemon_pods(client: Client) -> list[Any]:
    listed = await client.list("Pod")
    return [
        p
        for p in listed.items
        if p.metadata.labels.get("app") == "agent" and not p.metadata.HasField("deletion_timestamp")
    ]


async def placed(client: Client) -> dict[str, list[str]]:
    """Node -> images of the running, ready daemon pods bound to it."""
    out: dict[str, list[str]] = {}
    for pod in await daemon_pods(client):
        if pod.spec.node_name and podutil.is_ready(pod):
            out.setdefault(pod.spec.node_name, []).append(pod.spec.containers[0].image)
    return out


async def covers(client: Client, nodes: list[str], image: str = "shoal.local/busybox") -> bool:
    got = await placed(client)
    return got == {n: [image] for n in nodes} and len(await daemon_pods(client)) == len(nodes)


async def status_is(client: Client, desired: int) -> bool:
    s = (await client.get("DaemonSet", "agent")).status
    return (
        s.desired_number_scheduled,
        s.current_number_scheduled,
        s.number_ready,
        s.updated_number_scheduled,
        s.number_available,
    ) == (desired,) * 5


async def test_one_pod_per_node_placed_by_the_scheduler_and_a_new_node_gets_one(
    tmp_path: Path,
) -> None:
    cluster = await start_cluster(tmp_path, nodes=3)
    extra = None
    try:
        client = cluster.client
        await client.create(daemonset())
        await eventually(lambda: covers(client, cluster.nodes), timeout=30)
        await eventually(lambda: status_is(client, 3), timeout=30)
        pod = (await daemon_pods(client))[0]
        # Placed by affinity and the scheduler, not by the controller.
        term = pod.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
        field = term.node_selector_terms[0].match_fields[0]
        assert (field.key, field.operator, list(field.values)) == (
            "metadata.name",
            "In",
            [pod.spec.node_name],
        )
        assert any(
            t.key == "node.kubernetes.io/unschedulable" and t.effect == "NoSchedule"
            for t in pod.spec.tolerations
        )
        assert pod.metadata.labels[HASH_LABEL]

        options = dataclasses.replace(
            cluster.agent.options, name="late", hollow_nodes=1, data_dir=tmp_path / "late"
        )
        extra = Agent(options)
        await extra.start()
        nodes = [*cluster.nodes, *sorted(extra.nodes)]
        await eventually(lambda: covers(client, nodes), timeout=30)
        await eventually(lambda: status_is(client, 4), timeout=30)
    finally:
        if extra is not None:
            await extra.stop()
        await stop_cluster(cluster)


async def test_node_selector_and_taints_choose_the_nodes(tmp_path: Path) -> None:
    cluster = await start_cluster(tmp_path, nodes=3)
    try:
        client = cluster.client
        first, second, third = cluster.nodes
        for name in (first, second):
            await client.patch("Node", name, {"metadata": {"labels": {"logs": "yes"}}})
        await client.create(_selecting({"logs": "yes"}))
        await eventually(lambda: covers(client, [first, second]), timeout=30)
        # A NoExecute taint the pod does not tolerate evicts it.
        taint = {"key": "dedicated", "value": "db", "effect": "NoExecute"}
        await client.patch("Node", second, {"spec": {"taints": [taint]}})
        await eventually(lambda: covers(client, [first]), timeout=30)
        # Unlabelling a node takes its pod away; labelling one adds a pod.
        await client.patch("Node", first, {"metadata": {"labels": {"logs": None}}})
        await client.patch("Node", third, {"metadata": {"labels": {"logs": "yes"}}})
        await eventually(lambda: covers(client, [third]), timeout=30)
        s = (await client.get("DaemonSet", "agent")).status
        assert s.desired_number_scheduled == 1

        # Deleting the DaemonSet takes its pods and revisions (garbage collector).
        await client.delete("DaemonSet", "agent")

        async def gone() -> bool:
            revisions = await client.list("ControllerRevision")
            return not await daemon_pods(client) and not revisions.items

        await eventually(gone, timeout=30)
    finally:
        await stop_cluster(cluster)


def _selecting(labels: dict[str, str]) -> Any:
    ds = daemonset()
    ds.spec.template.spec.node_selector.update(labels)
    return ds


async def rollout(
    client: Client, nodes: list[str], strategy: dict[str, Any], *, limit: int, surge: bool
) -> None:
    """Change the image and check on every pod event that at most ``limit``
    nodes lack an available pod (maxUnavailable) or carry two (maxSurge)."""
    worst = 0
    patch = {
        "spec": {
            "updateStrategy": strategy,
            "template": {
                "spec": {"containers": [{"name": "main", "image": "shoal.local/hello:v1"}]}
            },
        }
    }
    # Let the first rollout settle before changing the template.
    await eventually(lambda: status_is(client, len(nodes)), timeout=60)
    await client.patch("DaemonSet", "agent", patch)

    async def measure() -> bool:
        nonlocal worst
        got = await placed(client)
        pods = await daemon_pods(client)
        per_node: dict[str, int] = {}
        for pod in pods:
            per_node[pod.spec.node_name or "?"] = per_node.get(pod.spec.node_name or "?", 0) + 1
        missing = sum(1 for n in nodes if not got.get(n))
        doubled = sum(1 for n in nodes if per_node.get(n, 0) > 1)
        worst = max(worst, doubled if surge else missing)
        return await covers(client, nodes, "shoal.local/hello:v1") and await status_is(
            client, len(nodes)
        )

    await eventually(measure, timeout=120, interval=0.01)
    assert 0 < worst <= limit


async def test_rolling_update_across_fifty_hollow_nodes_keeps_max_unavailable(
    tmp_path: Path,
) -> None:
    cluster = await start_cluster(tmp_path, nodes=50)
    try:
        await cluster.client.create(daemonset())
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 5}}
        await rollout(cluster.client, cluster.nodes, strategy, limit=5, surge=False)
        ds = await cluster.client.get("DaemonSet", "agent")
        revisions = await cluster.client.list("ControllerRevision")
        assert sorted(r.revision for r in revisions.items) == [1, 2]
        assert ds.status.observed_generation == ds.metadata.generation
    finally:
        await stop_cluster(cluster)


async def test_rolling_update_with_max_surge(tmp_path: Path) -> None:
    cluster = await start_cluster(tmp_path, nodes=6)
    try:
        await cluster.client.create(daemonset())
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 2}}
        await rollout(cluster.client, cluster.nodes, strategy, limit=2, surge=True)
    finally:
        await stop_cluster(cluster)


async def test_a_daemon_pod_failed_while_being_deleted_is_not_deleted_again(
    tmp_path: Path,
) -> None:
    """A deleted pod's node writes it Failed once its containers stop; the
    controller deletes failed daemon pods, but not one already going (as
    Kubernetes' skips pods with a deletionTimestamp): it replaces it and
    deletes nothing."""
    cluster = await start_cluster(tmp_path, nodes=1)
    client = cluster.client
    try:
        await client.create(daemonset())
        await eventually(lambda: covers(client, cluster.nodes), timeout=30)
        [pod] = await daemon_pods(client)
        pod.metadata.finalizers.append("example.com/hold")
        await client.update(pod)
        await client.delete("Pod", pod.metadata.name, "default")

        async def failed() -> bool:
            return (await client.get("Pod", pod.metadata.name)).status.phase == "Failed"

        await eventually(failed, timeout=30)
        await eventually(lambda: covers(client, cluster.nodes), timeout=30)  # its replacement
        # a new generation: one more sync, after the above (the controller
        # may be writing the status meanwhile, hence update_latest)
        updated = await update_latest(
            client,
            "DaemonSet",
            "agent",
            "default",
            lambda ds: setattr(ds.spec, "min_ready_seconds", 1),
        )
        generation = updated.metadata.generation

        async def synced() -> bool:
            s = (await client.get("DaemonSet", "agent")).status
            return s.observed_generation == generation

        await eventually(synced, timeout=30)
        events = (await client.list("Event", "default")).items
        assert [e.message for e in events if e.reason == "SuccessfulDelete"] == []
        held = await client.get("Pod", pod.metadata.name)
        held.metadata.ClearField("finalizers")
        await client.update(held)
    finally:
        await stop_cluster(cluster)
