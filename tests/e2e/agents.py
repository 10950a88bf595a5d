"""An in-process API server and a real agent on Docker or Podman, for the
end-to-end agent tests and the pod-start benchmark.

The agent runs on this machine under its own node name; everything it
creates carries that node's label, so :func:`stop_node` removes all of it
whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from shoal.agent.agent import Agent, AgentOptions
from shoal.agent.kubelet import Timing
from shoal.api.v1 import streams_pb2 as s
from shoal.api.v1 import streams_pb2_grpc
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.runtimes.images import BUSYBOX_IMAGE
from shoal.testing import start_server

from tests.e2e.engines import remove_node_objects

# Short enough for a test to see a crash loop in seconds, long enough that
# a real engine's container start (tens to hundreds of ms) fits in a period.
E2E_TIMING = Timing(
    lease_interval=2.0,
    status_interval=5.0,
    resync=1.0,
    relist_interval=0.1,
    retry=0.2,
    backoff_initial=1.0,
    backoff_max=2.0,
)


@dataclass
class E2ENode:
    engine: str
    node: str
    data_dir: Path
    server: APIServer
    client: Client
    agent: Agent
    channel: grpc.aio.Channel
    streams: streams_pb2_grpc.StreamsStub  # the API server's relay, as `shoal logs` uses


def agent_options(
    engine: str, node: str, server: APIServer, data_dir: Path, **more: Any
) -> AgentOptions:
    return AgentOptions(
        server=f"127.0.0.1:{server.port}",
        name=node,
        runtime=engine,
        data_dir=data_dir / "agent",
        node_ip="127.0.0.1",  # the relay reaches the stream server on loopback
        stream_listen="127.0.0.1:0",
        timing=E2E_TIMING,
        **more,
    )


async def start_node(engine: str, node: str, data_dir: Path, **options: Any) -> E2ENode:
    """``options``: more AgentOptions (``cluster_dns=True``)."""
    server = await start_server(data_dir)
    agent = Agent(agent_options(engine, node, server, data_dir, **options))
    try:
        await agent.start()
    except BaseException:
        await agent.stop()
        await server.stop(grace=0)
        raise
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    client = Client(f"127.0.0.1:{server.port}")
    stub = streams_pb2_grpc.StreamsStub(channel)
    return E2ENode(engine, node, data_dir, server, client, agent, channel, stub)


async def restart_agent(cluster: E2ENode) -> Agent:
    """Stop the agent (its pods keep running) and start a new one for the
    same node and data directory."""
    await cluster.agent.stop()
    cluster.agent = Agent(
        agent_options(cluster.engine, cluster.node, cluster.server, cluster.data_dir)
    )
    await cluster.agent.start()
    return cluster.agent


async def stop_node(cluster: E2ENode) -> None:
    with contextlib.suppress(Exception):
        await cluster.agent.stop()
    await cluster.client.close()
    await cluster.channel.close()
    await cluster.server.stop(grace=0)
    await asyncio.to_thread(remove_node_objects, cluster.engine, cluster.node)


def busybox_pod(name: str, node: str, containers: dict[str, str], **spec: Any) -> Any:
    """A pod bound to ``node`` whose containers run ``sh -c SCRIPT`` in the
    local busybox image (never pulled: no registry is reachable)."""
    body = {
        "nodeName": node,
        "terminationGracePeriodSeconds": 2,
        "containers": [
            {
                "name": cname,
                "image": BUSYBOX_IMAGE,
                "imagePullPolicy": "Never",
                "command": ["sh", "-c", script],
            }
            for cname, script in containers.items()
        ],
        **spec,
    }
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}
    return from_dict(manifest)


async def watch_pod(
    client: Client, name: str, check: Callable[[Any], bool], timeout: float = 30.0
) -> tuple[Any, list[Any]]:
    """Watch pod ``name`` until ``check(pod)``; (that pod, every version seen).
    Raises AssertionError, with the last status, at the deadline."""
    seen: list[Any] = []

    async def until() -> Any:
        async for event in client.watch("Pod", "default", field_selector=f"metadata.name={name}"):
            if event.object is None or event.type == "DELETED":
                continue
            seen.append(event.object)
            if check(event.object):
                return event.object
        raise AssertionError(f"the watch of pod {name} ended")

    try:
        return await asyncio.wait_for(until(), timeout), seen
    except TimeoutError:
        last = seen[-1].status if seen else "no pod seen"
        message = f"pod {name}: condition not met within {timeout} s; last: {last}"
        raise AssertionError(message) from None


def ref(pod: str, container: str = "") -> s.ContainerRef:
    return s.ContainerRef(namespace="default", pod=pod, container=container)


async def logs(stub: Any, pod: str, container: str = "", **request: Any) -> bytes:
    chunks = stub.Logs(s.LogsRequest(ref=ref(pod, container), **request))
    return b"".join([c.data async for c in chunks])


async def exec_in(
    stub: Any, pod: str, container: str, command: list[str], stdin: bytes = b""
) -> tuple[int, bytes, bytes]:
    """Exec through the API server's relay: (exit code, stdout, stderr)."""

    async def requests() -> Any:
        start = s.ExecStart(ref=ref(pod, container), command=command, stdin=bool(stdin))
        yield s.ExecInput(start=start)
        if stdin:
            yield s.ExecInput(stdin=stdin)
            yield s.ExecInput(close_stdin=True)

    out, err, code = b"", b"", -1
    async for message in stub.Exec(requests()):
        out += message.stdout
        err += message.stderr
        if message.HasField("exit_code"):
            code = message.exit_code
    return code, out, err


async def port_forward(stub: Any, pod: str, port: int, send: bytes) -> bytes:
    """One connection to ``port`` in the pod through the relay: write
    ``send``, read until the pod closes it."""

    async def frames() -> Any:
        yield s.PortForwardFrame(start=s.PortForwardStart(ref=ref(pod), port=port))
        yield s.PortForwardFrame(data=send)

    received = b""
    async for frame in stub.PortForward(frames()):
        received += frame.data
        if frame.close:
            break
    return received
