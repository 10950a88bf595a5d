"""DaemonSets and StatefulSets on real Docker and Podman: an in-process API
server and control plane (scheduler, controllers), and several real agents
on this machine, each its own node; a node joining later gets its daemon
pod; a StatefulSet's pods start in order and go in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from shoal.agent.agent import Agent
from shoal.client import Client
from shoal.controlplane import ControlPlane
from shoal.manifest import from_dict, load_documents
from shoal.plugins.runtimes.images import BUSYBOX_IMAGE
from shoal.testing import start_server

from tests.e2e.agents import agent_options, exec_in, start_node, stop_node
from tests.e2e.engines import remove_node_objects
from tests.integration.helpers import eventually

pytestmark = pytest.mark.e2e

SLEEP = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]


@dataclass
class Nodes:
    engine: str
    server: Any
    client: Client
    control_plane: ControlPlane
    tmp: Path
    agents: dict[str, Agent] = field(default_factory=dict)

    async def add(self) -> str:
        name = f"e2e-{uuid.uuid4().hex[:10]}"
        options = agent_options(self.engine, name, self.server, self.tmp / name)
        agent = Agent(options)
        self.agents[name] = agent
        await agent.start()
        return name


@pytest_asyncio.fixture
async def nodes(engine: str, tmp_path: Path) -> AsyncIterator[Nodes]:
    server = await start_server(tmp_path)
    address = f"127.0.0.1:{server.port}"
    control_plane = ControlPlane(Client(address), "*", leader_elect=False)
    control_plane.start()
    cluster = Nodes(engine, server, Client(address), control_plane, tmp_path)
    try:
        yield cluster
    finally:
        for agent in cluster.agents.values():
            with contextlib.suppress(Exception):
                await agent.stop()
        await control_plane.stop()
        await control_plane.client.close()
        await cluster.client.close()
        await server.stop(grace=0)
        for name in cluster.agents:
            await asyncio.to_thread(remove_node_objects, engine, name)


def _template(app: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [
                {
                    "name": "main",
                    "image": BUSYBOX_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": SLEEP,
                }
            ],
        },
    }


async def _running(client: Client, app: str) -> dict[str, str]:
    """Pod name -> node of the Running, Ready pods of ``app``."""
    listed = await client.list("Pod", "default", label_selector=f"app={app}")
    return {
        p.metadata.name: p.spec.node_name
        for p in listed.items
        if p.status.phase == "Running"
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions)
        and not p.metadata.HasField("deletion_timestamp")
    }


async def test_daemonset_covers_every_node_and_a_new_node_gets_one(nodes: Nodes) -> None:
    first = [await nodes.add(), await nodes.add()]
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "shipper"},
        "spec": {"selector": {"matchLabels": {"app": "shipper"}}, "template": _template("shipper")},
    }
    await nodes.client.create(from_dict(ds))

    async def on(wanted: list[str]) -> bool:
        got = await _running(nodes.client, "shipper")
        return sorted(got.values()) == sorted(wanted)

    await eventually(lambda: on(first), timeout=90)
    late = await nodes.add()
    await eventually(lambda: on([*first, late]), timeout=90)
    status = (await nodes.client.get("DaemonSet", "shipper")).status
    assert status.desired_number_scheduled == 3


async def test_statefulset_starts_in_order_and_scales_down_in_reverse(nodes: Nodes) -> None:
    await nodes.add()
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "serviceName": "web",
            "selector": {"matchLabels": {"app": "web"}},
            "template": _template("web"),
        },
    }
    order: list[tuple[str, str]] = []

    async def watch() -> None:
        seen: set[tuple[str, str]] = set()
        async for event in nodes.client.watch("Pod", "default"):
            pod = event.object
            if pod is None:
                continue
            ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)
            for what, happened in (
                ("created", event.type == "ADDED"),
                ("ready", ready),
                ("deleted", event.type == "DELETED"),
            ):
                if happened and (what, pod.metadata.name) not in seen:
                    seen.add((what, pod.metadata.name))
                    order.append((what, pod.metadata.name))

    watcher = asyncio.create_task(watch())
    try:
        await nodes.client.create(from_dict(sts))
        await eventually(lambda: _has(nodes.client, ["web-0", "web-1"]), timeout=90)
        # web-1 is created only once web-0 is ready.
        assert order.index(("ready", "web-0")) < order.index(("created", "web-1"))
        pod = await nodes.client.get("Pod", "web-0")
        assert pod.spec.hostname == "web-0" and pod.spec.subdomain == "web"
        await nodes.client.patch("StatefulSet", "web", {"spec": {"replicas": 0}})
        await eventually(lambda: ("deleted", "web-0") in order, timeout=90)
        assert order.index(("deleted", "web-1")) < order.index(("deleted", "web-0"))
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _has(client: Client, names: list[str], app: str = "web") -> bool:
    return sorted(await _running(client, app)) == names


MANIFEST = Path(__file__).parent.parent / "manifests" / "statefulset-web.yaml"
# The class the documentation's manifest names, served by the local provisioner.
STORAGE_CLASS = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "my-storage-class"},
    "provisioner": "shoal.dev/local-path",
    "volumeBindingMode": "WaitForFirstConsumer",
}


# The docs' manifest waits by design: minReadySeconds 10 before each next
# pod, terminationGracePeriodSeconds 10 for each pod stopped (the image does
# not handle SIGTERM): ~55 s alone, half the suite's 120 s limit; its own
# deadlines are the waits below.
@pytest.mark.timeout(400)
async def test_the_docs_statefulset_keeps_its_data_across_a_new_pod(
    engine: str, tmp_path: Path
) -> None:
    node = await start_node(engine, f"e2e-{uuid.uuid4().hex[:10]}", tmp_path)
    plane = ControlPlane(Client(f"127.0.0.1:{node.server.port}"), "*", leader_elect=False)
    plane.start()
    client = node.client
    try:
        await client.create(from_dict(STORAGE_CLASS))
        for doc in load_documents(MANIFEST.read_text()):
            await client.create(from_dict(doc))
        names = ["web-0", "web-1", "web-2"]
        await eventually(lambda: _has(client, names, "nginx"), timeout=120)
        listed = await client.list("PersistentVolumeClaim", "default")
        assert sorted((c.metadata.name, c.status.phase) for c in listed.items) == [
            (f"www-{n}", "Bound") for n in names
        ]
        page = "/usr/share/nginx/html/index.html"
        code, _, err = await exec_in(
            node.streams, "web-1", "nginx", ["sh", "-c", f"echo kept > {page}"]
        )
        assert code == 0, err
        old = await client.get("Pod", "web-1")
        await client.delete("Pod", "web-1")

        async def replaced() -> bool:
            pods = await _running(client, "nginx")
            if "web-1" not in pods:
                return False
            return (await client.get("Pod", "web-1")).metadata.uid != old.metadata.uid

        await eventually(replaced, timeout=120)
        code, out, _ = await exec_in(node.streams, "web-1", "nginx", ["cat", page])
        assert (code, out) == (0, b"kept\n")
        # Retain (the default): scaling to zero keeps every claim.
        await client.patch("StatefulSet", "web", {"spec": {"replicas": 0}})
        await eventually(lambda: _has(client, [], "nginx"), timeout=120)
        listed = await client.list("PersistentVolumeClaim", "default")
        assert len(listed.items) == 3
    finally:
        await plane.stop()
        await plane.client.close()
        await stop_node(node)
