"""A whole in-process cluster (server, control plane, two hollow nodes) with
the REST gateway in front, and real kubectl run as a subprocess against it.

kubectl runs through asyncio's subprocess support, so the cluster keeps
serving on the test's event loop while kubectl talks to it."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from shoal.agent.testing import Cluster, start_cluster, stop_cluster
from shoal.client import Client
from shoal.plugins.gateway import Gateway
from shoal.testing import start_server

from tests.requirements import require_binary

MANIFESTS = Path(__file__).parent.parent / "manifests"
KUBECTL = shutil.which("kubectl")


@pytest.fixture
def needs_kubectl() -> str:
    """kubectl's path; without it the test skips, or fails in CI (tests.requirements)."""
    return require_binary("kubectl")


@dataclass
class Run:
    code: int
    out: str
    err: str


async def run_kubectl(
    url: str, home: Path, *args: str, input: str | None = None, timeout: float = 60.0
) -> Run:
    env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(home / "none")}
    proc = await asyncio.create_subprocess_exec(
        str(KUBECTL), "--server", url, *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    data = input.encode() if input is not None else None
    try:
        out, err = await asyncio.wait_for(proc.communicate(data), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return Run(proc.returncode or 0, out.decode(), err.decode())


@dataclass
class GatewayCluster:
    cluster: Cluster
    gateway: Gateway
    url: str
    http: aiohttp.ClientSession
    home: Path

    async def kubectl(self, *args: str, input: str | None = None, timeout: float = 60.0) -> Run:
        """Real kubectl against the gateway (no kubeconfig of the user's is read)."""
        return await run_kubectl(self.url, self.home, *args, input=input, timeout=timeout)


@pytest_asyncio.fixture
async def gateway_cluster(tmp_path: Path) -> AsyncIterator[GatewayCluster]:
    cluster = await start_cluster(tmp_path, nodes=2)
    gateway = Gateway(cluster.client)
    await gateway.start("127.0.0.1:0")
    home = tmp_path / "home"
    home.mkdir()
    http = aiohttp.ClientSession(gateway.url)
    try:
        yield GatewayCluster(cluster, gateway, gateway.url, http, home)
    finally:
        await http.close()
        await gateway.stop()
        await stop_cluster(cluster)


@dataclass
class GatewayServer:
    client: Client
    url: str
    http: aiohttp.ClientSession
    home: Path

    async def kubectl(self, *args: str, input: str | None = None, timeout: float = 60.0) -> Run:
        """Real kubectl against the gateway (no kubeconfig of the user's is read)."""
        return await run_kubectl(self.url, self.home, *args, input=input, timeout=timeout)


@pytest_asyncio.fixture
async def gateway_server(tmp_path: Path) -> AsyncIterator[GatewayServer]:
    """The gateway over a bare API server (no controllers, no nodes): fast, for
    the object verbs."""
    server = await start_server(tmp_path)
    client = Client(f"127.0.0.1:{server.port}")
    gateway = Gateway(client)
    await gateway.start("127.0.0.1:0")
    http = aiohttp.ClientSession(gateway.url)
    try:
        yield GatewayServer(client, gateway.url, http, tmp_path)
    finally:
        await http.close()
        await gateway.stop()
        await client.close()
        await server.stop(grace=0)
