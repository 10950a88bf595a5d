"""A node agent on a secure server: what it does as ``system:node:NAME``
must be within what a node may do, and its streams must work whatever
credentials it was started with."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from shoal import errors, pki
from shoal.agent.agent import Agent, AgentOptions, with_node_identity
from shoal.agent.join import JoinError
from shoal.api.v1 import core_pb2, streams_pb2, streams_pb2_grpc
from shoal.config import ClientConfig

from tests.agent.conftest import FAST
from tests.integration.helpers import eventually, pod
from tests.security.conftest import SecureServer

StartAgent = Callable[..., Coroutine[Any, Any, Agent]]


@pytest_asyncio.fixture
async def start_agent(secure_server: SecureServer, tmp_path: Path) -> AsyncIterator[StartAgent]:
    """``await start_agent(credentials=..., join_token=...)``: an agent for
    node-a on the fake runtime, its identity settled as ``shoal agent`` does."""
    started: list[Agent] = []

    async def start(credentials: ClientConfig | None = None, join_token: str = "") -> Agent:
        options = AgentOptions(
            server=secure_server.address,
            name="node-a",
            runtime="fake",
            data_dir=tmp_path / "agent",
            node_ip="127.0.0.1",
            stream_listen="127.0.0.1:0",
            credentials=credentials,
            join_token=join_token,
            timing=FAST,
        )
        agent = Agent(await with_node_identity(options))
        await agent.start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        await agent.stop()


def _join_token(server: SecureServer, tmp_path: Path) -> str:
    return str(server.security.ensure_join_token(tmp_path / "join-token"))


async def test_a_joined_node_counts_repeated_events(
    secure_server: SecureServer, start_agent: StartAgent, tmp_path: Path
) -> None:
    """A crash loop repeats BackOff; the node bumps the Event's count, which
    it may do without reading the Event (system:node cannot get events)."""
    await start_agent(join_token=_join_token(secure_server, tmp_path))
    crash = pod("duo", node="node-a", restartPolicy="Always")
    crash.spec.containers[0].command.extend(["sh", "-c", "exit 1"])
    await secure_server.admin.create(crash)

    async def repeated() -> Any:
        events = (await secure_server.admin.list("Event", "default")).items
        return next((e for e in events if e.reason == "BackOff" and e.count >= 2), None)

    event = await eventually(repeated, timeout=15)
    assert event.source.component == "kubelet" and event.source.host == "node-a"
    assert event.last_timestamp.seconds >= event.first_timestamp.seconds


async def _logs(client: Any, pod_name: str) -> bytes:
    stub = streams_pb2_grpc.StreamsStub(client.channel)
    ref = streams_pb2.ContainerRef(namespace="default", pod=pod_name)
    return b"".join([c.data async for c in stub.Logs(streams_pb2.LogsRequest(ref=ref))])


def _talking_pod(name: str) -> Any:
    p = pod(name, node="node-a")
    p.spec.containers[0].command.extend(["sh", "-c", "echo hello; exec sleep infinity"])
    return p


async def _running(client: Any, name: str) -> bool:
    return (await client.get("Pod", name)).status.phase == "Running"


async def test_an_agent_started_with_admin_credentials_runs_as_its_node(
    secure_server: SecureServer, start_agent: StartAgent, tmp_path: Path
) -> None:
    """``shoal agent --config admin.conf``: the agent gets its node
    certificate with the admin's credentials, so its stream port speaks
    mutual TLS and logs and exec reach it through the API server."""
    pair = secure_server.security.pki.ensure("admin")
    agent = await start_agent(secure_server.config(cert_data=pair.cert_pem, key_data=pair.key_pem))
    creds = agent.options.credentials
    assert creds is not None
    assert pki.identity(pki.load_cert(creds.cert_data)) == ("system:node:node-a", ("system:nodes",))
    assert (tmp_path / "agent" / "pki" / "node.crt").exists()  # a restart needs nothing more
    await secure_server.admin.create(_talking_pod("talk"))
    await eventually(lambda: _running(secure_server.admin, "talk"))
    assert await eventually(lambda: _logs(secure_server.admin, "talk"), timeout=10) == b"hello\n"
    node = await secure_server.admin.get("Node", "node-a")
    assert node.status.daemon_endpoints.kubelet_endpoint.port == agent.stream_port


async def test_an_agent_whose_credentials_cannot_get_a_node_certificate_is_refused(
    secure_server: SecureServer, start_agent: StartAgent
) -> None:
    key = pki.new_key()
    cert = secure_server.security.pki.ca.issue(
        "alice", (), usage=pki.Usage(client=True), public_key=key.public_key()
    )
    alice = secure_server.config(cert_data=pki.cert_pem(cert), key_data=pki.key_pem(key))
    with pytest.raises(JoinError) as refused:
        await start_agent(alice)
    message = str(refused.value)
    assert 'user "alice" may not get a certificate for node "node-a"' in message
    assert "join token" in message and "\n" not in message
    assert (await secure_server.admin.list("Node")).items == []


async def test_the_relay_names_the_node_it_cannot_reach(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    """An agent whose stream port is plain (it kept the admin's
    credentials): the caller reads which node, at which address, failed,
    never that the API server is not answering."""
    pair = secure_server.security.pki.ensure("admin")
    options = AgentOptions(
        server=secure_server.address,
        name="node-a",
        runtime="fake",
        data_dir=tmp_path / "agent",
        node_ip="127.0.0.1",
        stream_listen="127.0.0.1:0",
        credentials=secure_server.config(cert_data=pair.cert_pem, key_data=pair.key_pem),
        timing=FAST,
    )
    agent = Agent(options)  # no node identity: its stream port stays plain
    await agent.start()
    try:
        await secure_server.admin.create(_talking_pod("talk"))
        await eventually(lambda: _running(secure_server.admin, "talk"))
        with pytest.raises(errors.UnavailableError) as plain:
            await _call(_logs(secure_server.admin, "talk"))
    finally:
        await agent.stop()
    where = f'node "node-a" at 127.0.0.1:{agent.stream_port}'
    assert plain.value.message == (
        f"error dialing backend: the stream port of {where} does not speak TLS "
        "(an agent without a node identity? start it with the join token)"
    )


async def test_ctl_names_the_node_whose_agent_is_gone(secure_server: SecureServer) -> None:
    from shoal.ctl.errors import describe

    port = _free_port()
    node = core_pb2.Node()
    node.metadata.name = "node-b"
    node = await secure_server.admin.create(node)
    node.status.addresses.add(type="InternalIP", address="127.0.0.1")
    node.status.daemon_endpoints.kubelet_endpoint.port = port
    await secure_server.admin.update_status(node)
    await secure_server.admin.create(pod("orphan", node="node-b"))
    with pytest.raises(errors.UnavailableError) as gone:
        await _call(_logs(secure_server.admin, "orphan"))
    assert gone.value.message.startswith(
        f'error dialing backend: node "node-b" at 127.0.0.1:{port}: '
    )
    line = describe(gone.value)
    assert line is not None and line.startswith("Error from server (ServiceUnavailable): ")
    assert "API server" not in line


def _free_port() -> int:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _call(work: Any) -> Any:
    """``work``, with a gRPC failure as the client library's APIError."""
    try:
        return await work
    except grpc.aio.AioRpcError as err:
        raise errors.from_status(
            err.code(), err.details() or "", err.trailing_metadata() or ()
        ) from None


async def test_ctl_says_the_api_server_is_not_answering_only_when_it_is_not() -> None:
    from shoal.client import Client
    from shoal.ctl.errors import describe

    client = Client(f"127.0.0.1:{_free_port()}")
    try:
        with pytest.raises(errors.UnavailableError) as down:
            await client.get("Pod", "web")
    finally:
        await client.close()
    line = describe(down.value)
    assert line is not None and line.startswith("error: the API server is not answering (")
