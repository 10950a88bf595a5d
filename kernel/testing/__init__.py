"""``shoal.testing``: pytest fixtures for plugin authors (loaded through the
``pytest11`` entry point; needs pytest-asyncio).

- ``shoal_server``: an in-process API server on a fresh SQLite store in a
  temporary directory, listening on a free loopback port.
- ``shoal_client``: a :class:`shoal.client.Client` connected to it.
- ``shoal_cluster``: the whole cluster in-process: the server, the control
  plane (scheduler and every registered controller, no leader election) and
  three hollow nodes (``hollow-0000``...) on the fake runtime, all Ready.

And the contract suites a third-party implementation runs by subclassing:
:class:`StoreContract` (give it a ``store`` fixture) and
:class:`RuntimeContract` (a ``runtime`` fixture); see their modules.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

# Before importing them: their asserts should explain failures as tests' do.
pytest.register_assert_rewrite("shoal.testing.store_contract", "shoal.testing.runtime_contract")

from shoal.apiserver.server import APIServer  # noqa: E402
from shoal.client import Client  # noqa: E402
from shoal.store.sqlite import SQLiteStore  # noqa: E402
from shoal.testing.runtime_contract import RuntimeContract  # noqa: E402
from shoal.testing.store_contract import StoreContract  # noqa: E402

__all__ = [
    "Cluster",
    "RuntimeContract",
    "StoreContract",
    "start_cluster",
    "start_server",
    "stop_cluster",
]


async def start_server(data_dir: Path, *, bookmark_interval: float = 10.0) -> APIServer:
    """A started APIServer on ``data_dir/state.db``; stop it with ``await server.stop()``."""
    store = SQLiteStore(data_dir / "state.db", compact_interval=0)
    server = APIServer(store, bookmark_interval=bookmark_interval)
    await server.start("127.0.0.1:0")
    return server


@pytest_asyncio.fixture
async def shoal_server(tmp_path: Path) -> AsyncIterator[APIServer]:
    server = await start_server(tmp_path)
    try:
        yield server
    finally:
        await server.stop(grace=0)


@pytest_asyncio.fixture
async def shoal_client(shoal_server: APIServer) -> AsyncIterator[Client]:
    client = Client(f"127.0.0.1:{shoal_server.port}")
    try:
        yield client
    finally:
        await client.close()


@dataclass
class Cluster:
    server: APIServer
    client: Client
    control_plane: Any
    agent: Any
    nodes: list[str]


async def start_cluster(
    data_dir: Path, *, nodes: int = 3, controller_options: dict[str, Any] | None = None
) -> Cluster:
    """Server, control plane and ``nodes`` hollow nodes, waiting until every
    node is Ready; stop with :func:`stop_cluster`. ``controller_options``
    reach the controllers that take options (``job_backoff_base``...)."""
    from shoal.agent.agent import Agent, AgentOptions
    from shoal.agent.kubelet import Timing
    from shoal.controlplane import ControlPlane, ControlPlaneOptions

    server = await start_server(data_dir)
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
