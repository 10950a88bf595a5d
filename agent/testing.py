"""``shoal.agent.testing``: the whole cluster in one process, for plugin
authors' tests (a pytest plugin of its own, loaded through the ``pytest11``
entry point beside :mod:`shoal.testing`; needs pytest-asyncio).

- ``shoal_cluster``: the server, the control plane (scheduler and every
  registered controller, no leader election) and three hollow nodes
  (``hollow-0000``...) on the fake runtime, all Ready.

:func:`start_cluster` and :func:`stop_cluster` do the same outside the
fixture. It lives with the agent, not in the kernel's :mod:`shoal.testing`,
because it runs the agent and the kernel imports no agent module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.testing import start_server

__all__ = ["Cluster", "start_cluster", "stop_cluster"]


@dataclass
class Cluster:
    server: APIServer
    client: Client
    control_plane: Any
    agent: Any
    nodes: list[str]


async def start_cluster(
    data_dir: Path,
    *,
    nodes: int = 3,
    metric_resolution: float | None = None,
    controller_options: dict[str, Any] | None = None,
) -> Cluster:
    """Server, control plane and ``nodes`` hollow nodes, waiting until every
    node is Ready; stop with :func:`stop_cluster`. ``controller_options``
    reach the controllers that take options (``job_backoff_base``...)."""
    from shoal.agent.agent import Agent, AgentOptions
    from shoal.agent.kubelet import Timing
    from shoal.controlplane import ControlPlane, ControlPlaneOptions

    server = await start_server(data_dir, metric_resolution=metric_resolution)
    address = f"127.0.0.1:{server.port}"
    client = Client(address)
    options = ControlPlaneOptions(extra=dict(controller_options or {}))
    control_plane = ControlPlane(Client(address), "*", leader_elect=False, options=options)
    control_plane.start()
    timing = Timing(
        lease_interval=1.0,
        status_interval=1.0,
        resync=0.5,
        relist_interval=0.05,
        retry=0.1,
        backoff_initial=0.3,
        backoff_max=1.2,
    )
    agent = Agent(
        AgentOptions(
            server=address,
            name="hollow",
            hollow_nodes=nodes,
            data_dir=data_dir / "agent",
            cpu="4",
            memory="8Gi",
            stream_listen="127.0.0.1:0",
            timing=timing,
        )
    )
    await agent.start()
    names = sorted(agent.nodes)
    await _wait_ready(client, names)
    return Cluster(server, client, control_plane, agent, names)


async def _wait_ready(client: Client, names: list[str], timeout: float = 30.0) -> None:
    async def all_ready() -> None:
        while True:
            listed = await client.list("nodes")
            ready = {
                n.metadata.name
                for n in listed.items
                if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)
            }
            if set(names) <= ready:
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(all_ready(), timeout)


async def stop_cluster(cluster: Cluster) -> None:
    await cluster.agent.stop()
    await cluster.control_plane.stop()
    await cluster.control_plane.client.close()
    await cluster.client.close()
    await cluster.server.stop(grace=0)


@pytest_asyncio.fixture
async def shoal_cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = await start_cluster(tmp_path)
    try:
        yield cluster
    finally:
        await stop_cluster(cluster)
