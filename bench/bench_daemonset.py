"""A DaemonSet across 500 hollow nodes: the time to cover every node and to
roll a new template out (RollingUpdate, maxUnavailable 10%), beside the
baseline of a Deployment of as many replicas doing the same on the same
cluster in the same run (maxUnavailable 10%, maxSurge 0), so the ratio
compares the DaemonSet path (revisions, per-node pods placed by affinity
through the scheduler) with the Deployment path (ReplicaSets), not the
machine.

The server (with its control plane: scheduler and controllers) and one
agent hosting the hollow nodes on the fake runtime run in their own
processes; this one only writes and polls. ``BENCH_DS_NODES`` changes the
node count (for a quick look).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import tempfile
import time
from typing import Any

import grpc
from shoal import errors
from shoal.client import Client
from shoal.manifest import from_dict

from bench.bench_agent import start_agent, wait_leases
from bench.server_process import ServerProcess

NODES = int(os.environ.get("BENCH_DS_NODES", "500"))
TIMEOUT = 1800.0


def _template(image: str, app: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": image}]},
    }


def daemonset(image: str) -> Any:
    return from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "ds"},
            "spec": {
                "selector": {"matchLabels": {"app": "ds"}},
                "updateStrategy": {"rollingUpdate": {"maxUnavailable": "10%"}},
                "template": _template(image, "ds"),
            },
        }
    )


def deployment(image: str, replicas: int) -> Any:
    return from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "deploy"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "deploy"}},
                "strategy": {"rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 0}},
                "template": _template(image, "deploy"),
            },
        }
    )


async def _until(check: Any) -> float:
    started = time.perf_counter()
    deadline = started + TIMEOUT
    while not await _checked(check):
        if time.perf_counter() > deadline:
            raise TimeoutError("the rollout did not finish")
        await asyncio.sleep(0.1)
    return time.perf_counter() - started


async def _checked(check: Any) -> bool:
    """One poll; a call the loaded server cancelled counts as not yet."""
    try:
        return bool(await check())
    except errors.APIError as err:
        if err.code in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE):
            return False
        raise


def ds_done(client: Client, nodes: int) -> Any:
    async def check() -> bool:
        ds = await client.get("DaemonSet", "ds")
        s = ds.status
        return bool(
            s.observed_generation == ds.metadata.generation
            and s.desired_number_scheduled == nodes
            and s.updated_number_scheduled == nodes
            and s.number_available == nodes
            and s.current_number_scheduled == nodes
        )

    return check


def deploy_done(client: Client, replicas: int) -> Any:
    async def check() -> bool:
        d = await client.get("Deployment", "deploy")
        s = d.status
        return bool(
            s.observed_generation == d.metadata.generation
            and s.updated_replicas == replicas
            and s.available_replicas == replicas
            and s.replicas == replicas
        )

    return check


async def _ready_nodes(client: Client, count: int) -> bool:
    listed = await client.list("Node")
    ready = [
        n
        for n in listed.items
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)
    ]
    return len(ready) >= count


async def _measure(tmp: pathlib.Path) -> dict[str, Any]:
    server = ServerProcess(tmp / "server", "--controllers", "*")
    agent = start_agent(server.address, tmp / "agent", NODES)
    client = Client(server.address)
    new_image = {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "shoal.local/hello:v2"}]}}}}  # fmt: skip
    try:
        await wait_leases(server.address, NODES)
        await _until(lambda: _ready_nodes(client, NODES))
        await client.create(deployment("shoal.local/hello:v1", NODES))
        deploy_create = await _until(deploy_done(client, NODES))
        await client.patch("Deployment", "deploy", new_image)
        deploy_roll = await _until(deploy_done(client, NODES))
        await client.delete("Deployment", "deploy")

        await client.create(daemonset("shoal.local/hello:v1"))
        ds_create = await _until(ds_done(client, NODES))
        await client.patch("DaemonSet", "ds", new_image)
        ds_roll = await _until(ds_done(client, NODES))
    finally:
        await client.close()
        agent.terminate()
        agent.wait()
        server.stop()
    return {
        "nodes": NODES,
        "daemonset_cover_seconds": round(ds_create, 2),
        "daemonset_rollout_seconds": round(ds_roll, 2),
        "baseline_deployment_create_seconds": round(deploy_create, 2),
        "baseline_deployment_rollout_seconds": round(deploy_roll, 2),
        "rollout_pods_per_second": round(NODES / ds_roll, 1),
        "baseline_rollout_pods_per_second": round(NODES / deploy_roll, 1),
        "rollout_ratio_vs_deployment": round(deploy_roll / ds_roll, 2),
        "cover_ratio_vs_deployment": round(deploy_create / ds_create, 2),
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(_measure(pathlib.Path(tmp)))
    for key, value in figures.items():
        print(f"   {key}: {value}")
    return figures
