"""The agent's stream port: hollow-node agents take a free one by default
(so several share a host), a real-runtime agent whose port is taken says so
in one line."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from asyncio.subprocess import PIPE
from collections.abc import Iterator
from pathlib import Path

import pytest
from shoal.agent.agent import Agent, AgentOptions
from shoal.api.v1 import streams_pb2 as s
from shoal.api.v1 import streams_pb2_grpc
from shoal.apiserver.server import APIServer
from shoal.client import Client

from tests.agent.conftest import StartAgent
from tests.integration.helpers import eventually, pod


async def test_two_hollow_node_agents_on_one_host_with_default_flags(
    shoal_server: APIServer, shoal_client: Client, start_agent: StartAgent
) -> None:
    """Each takes a free port; its Node reports the port it got, so the API
    server reaches both."""
    first = await start_agent(name="hollow-a", stream_listen="")
    second = await start_agent(name="hollow-b", stream_listen="", data_dir=Path("/nonexistent"))
    assert first.stream_port and second.stream_port and first.stream_port != second.stream_port
    stub_channel = shoal_client.channel
    for agent, name in ((first, "hollow-a"), (second, "hollow-b")):
        node = await shoal_client.get("Node", name)
        assert node.status.daemon_endpoints.kubelet_endpoint.port == agent.stream_port
        p = pod(f"talk-{name}", node=name)
        p.spec.containers[0].command.extend(["sh", "-c", f"echo {name}; exec sleep infinity"])
        await shoal_client.create(p)

        async def said(pod_name: str = f"talk-{name}") -> bytes:
            ref = s.ContainerRef(namespace="default", pod=pod_name)
            stub = streams_pb2_grpc.StreamsStub(stub_channel)
            try:
                return b"".join([c.data async for c in stub.Logs(s.LogsRequest(ref=ref))])
            except Exception:
                return b""  # not started yet

        assert await eventually(said) == f"{name}\n".encode()


async def test_default_stream_listen_by_runtime() -> None:
    real = Agent(AgentOptions(server="127.0.0.1:1", name="n", runtime="docker"))
    assert real.stream_listen() == "0.0.0.0:10250"
    hollow = Agent(AgentOptions(server="127.0.0.1:1", name="n", runtime="fake"))
    assert hollow.stream_listen() == "127.0.0.1:0"
    placed = Agent(AgentOptions(server="127.0.0.1:1", name="n", runtime="fake", node_ip="::1"))
    assert placed.stream_listen() == "[::1]:0"
    given = AgentOptions(server="127.0.0.1:1", name="n", stream_listen="127.0.0.1:7")
    assert Agent(given).stream_listen() == "127.0.0.1:7"


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


async def test_a_real_runtime_agent_whose_port_is_taken_says_so(
    shoal_server: APIServer, taken_port: int, tmp_path: Path
) -> None:
    shoal = Path(sys.executable).with_name("shoal")
    args = [
        "--server", f"127.0.0.1:{shoal_server.port}",
        "agent", "--runtime", "docker", "--name", "second",
        "--data-dir", str(tmp_path / "agent"), "--proxy-mode", "none",
        "--stream-listen", f"127.0.0.1:{taken_port}",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "SHOAL_CONFIG"} | {"HOME": str(tmp_path)}
    agent = await asyncio.create_subprocess_exec(
        str(shoal), *args, env=env, stdout=PIPE, stderr=PIPE
    )
    _, err = await asyncio.wait_for(agent.communicate(), 60)
    assert agent.returncode == 1
    assert err.decode().strip().splitlines()[-1] == (
        f"Error: cannot serve logs/exec/port-forward on 127.0.0.1:{taken_port}: "
        "Address already in use (another agent on this host?); choose another address or "
        "port with --stream-listen HOST:PORT (port 0: any free port)"
    )
