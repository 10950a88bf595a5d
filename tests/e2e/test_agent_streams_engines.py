"""Streams of a real agent on Docker and Podman through the API server:
port-forward into a pod of several containers; logs and exec of an agent
started with the admin's credentials on a secure server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from shoal.agent.agent import Agent, AgentOptions, with_node_identity
from shoal.api.v1 import streams_pb2_grpc

from tests.e2e.agents import (
    E2E_TIMING,
    E2ENode,
    busybox_pod,
    exec_in,
    logs,
    port_forward,
    start_node,
    stop_node,
    watch_pod,
)
from tests.e2e.engines import remove_node_objects
from tests.e2e.test_agent_engines import SERVE, SLEEP, running
from tests.integration.helpers import eventually
from tests.security.conftest import SecureServer, secure_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e

GET = b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n"


@pytest_asyncio.fixture
async def cluster(engine: str, node_name: str, tmp_path: Path) -> AsyncIterator[E2ENode]:
    node = await start_node(engine, node_name, tmp_path)
    try:
        yield node
    finally:
        await stop_node(node)


async def test_port_forward_into_a_pod_of_two_containers(cluster: E2ENode) -> None:
    """A port belongs to the pod's network namespace: no container is named,
    as with kubectl port-forward."""
    pod = busybox_pod("duo", cluster.node, {"server": SERVE, "client": SLEEP})
    await cluster.client.create(pod)
    await watch_pod(cluster.client, "duo", running)

    async def fetched() -> bytes | None:
        answer = await port_forward(cluster.streams, "duo", 8080, GET)
        return answer if b"pod-local" in answer else None  # httpd may not listen yet

    answer = await eventually(fetched, timeout=15)
    assert answer.startswith(b"HTTP/1.") and b" 200 " in answer.split(b"\r\n")[0] + b" "


async def test_an_agent_started_with_admin_credentials_serves_logs_and_exec(
    engine: str,
    node_name: str,
    tmp_path: Path,
    secure_server: SecureServer,  # noqa: F811
) -> None:
    """``shoal agent --config admin.conf``: the agent gets a node certificate
    with the admin's credentials, so the API server's mutual-TLS relay
    reaches its stream port."""
    pair = secure_server.security.pki.ensure("admin")
    options = AgentOptions(
        server=secure_server.address,
        name=node_name,
        runtime=engine,
        data_dir=tmp_path / "agent",
        node_ip="127.0.0.1",
        stream_listen="127.0.0.1:0",
        credentials=secure_server.config(cert_data=pair.cert_pem, key_data=pair.key_pem),
        timing=E2E_TIMING,
    )
    agent = Agent(await with_node_identity(options))
    await agent.start()
    try:
        script = "echo hello; exec sleep 3600"
        await secure_server.admin.create(busybox_pod("talk", node_name, {"main": script}))
        await watch_pod(secure_server.admin, "talk", running)
        stub = streams_pb2_grpc.StreamsStub(secure_server.admin.channel)

        async def said_hello() -> bytes | None:
            got = await logs(stub, "talk")
            return got if got else None

        assert await eventually(said_hello, timeout=10) == b"hello\n"
        code, out, _ = await exec_in(stub, "talk", "main", ["sh", "-c", "echo hi; exit 3"])
        assert (code, out) == (3, b"hi\n")
    finally:
        await agent.stop()
        await asyncio.to_thread(remove_node_objects, engine, node_name)
