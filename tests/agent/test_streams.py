"""Logs, exec and port-forward through the API server to the agent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from shoal.api.v1 import streams_pb2 as s
from shoal.api.v1 import streams_pb2_grpc
from shoal.apiserver.server import APIServer
from shoal.client import Client

from tests.agent.conftest import StartAgent
from tests.integration.helpers import eventually, pod


@pytest.fixture
async def streams(shoal_server: APIServer) -> AsyncIterator[streams_pb2_grpc.StreamsStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{shoal_server.port}") as channel:
        yield streams_pb2_grpc.StreamsStub(channel)


async def _running(client: Client, name: str) -> bool:
    return (await client.get("Pod", name)).status.phase == "Running"


def _ref(name: str, container: str = "") -> s.ContainerRef:
    return s.ContainerRef(namespace="default", pod=name, container=container)


async def _logs(stub: Any, **request: Any) -> bytes:
    return b"".join([c.data async for c in stub.Logs(s.LogsRequest(**request))])


async def test_logs_tail_timestamps_previous_and_follow(
    shoal_client: Client, start_agent: StartAgent, streams: Any
) -> None:
    await start_agent()
    p = pod("talk", node="node-1", restartPolicy="Always")
    p.spec.containers[0].command.extend(["sh", "-c", "echo one; echo two; echo three"])
    p.metadata.annotations["fake.shoal.io/log-every"] = "0.05"
    await shoal_client.create(p)
    await eventually(lambda: _running(shoal_client, "talk"))
    whole = await _logs(streams, ref=_ref("talk"))
    assert whole.startswith(b"one\ntwo\nthree\n")
    assert await _logs(streams, ref=_ref("talk"), tail_lines=0) == b""
    stamped = await _logs(streams, ref=_ref("talk"), tail_lines=1, timestamps=True)
    assert stamped.count(b"\n") == 1 and stamped[:4].isdigit() and b"Z " in stamped
    follow = streams.Logs(s.LogsRequest(ref=_ref("talk"), follow=True))
    seen = b""
    async for chunk in follow:
        seen += chunk.data
        if seen.count(b"tick") >= 3:
            break
    follow.cancel()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _logs(streams, ref=_ref("talk"), previous=True)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert 'previous terminated container "main"' in (err.value.details() or "")


async def test_logs_need_a_container_name_when_ambiguous(
    shoal_client: Client, start_agent: StartAgent, streams: Any
) -> None:
    await start_agent()
    p = pod("two", node="node-1")
    extra = p.spec.containers.add()
    extra.CopyFrom(p.spec.containers[0])
    extra.name = "side"
    await shoal_client.create(p)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _logs(streams, ref=_ref("two"))
    assert (err.value.details() or "") == (
        "a container name must be specified for pod two, choose one of: [main side]"
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _logs(streams, ref=_ref("nope"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def _exec(stub: Any, *messages: s.ExecInput) -> tuple[bytes, bytes, int]:
    call = stub.Exec()
    for message in messages:
        await call.write(message)
    await call.done_writing()
    out, err, code = b"", b"", -1
    async for reply in call:
        which = reply.WhichOneof("output")
        if which == "stdout":
            out += reply.stdout
        elif which == "stderr":
            err += reply.stderr
        else:
            code = reply.exit_code
    return out, err, code


async def test_exec_with_stdin_env_and_tty(
    shoal_client: Client, start_agent: StartAgent, streams: Any
) -> None:
    await start_agent()
    p = pod("box", node="node-1")
    p.spec.containers[0].env.add(name="GREETING", value="hello")
    await shoal_client.create(p)
    await eventually(lambda: _running(shoal_client, "box"))
    start = s.ExecStart(ref=_ref("box"), command=["sh", "-c", "echo $GREETING; exit 4"])
    assert await _exec(streams, s.ExecInput(start=start)) == (b"hello\n", b"", 4)
    cat = s.ExecStart(ref=_ref("box"), command=["cat"], stdin=True)
    out = await _exec(
        streams,
        s.ExecInput(start=cat),
        s.ExecInput(stdin=b"ping"),
        s.ExecInput(close_stdin=True),
    )
    assert out == (b"ping", b"", 0)
    shell = s.ExecStart(
        ref=_ref("box"),
        command=["sh"],
        stdin=True,
        tty=True,
        size=s.TerminalSize(width=80, height=24),
    )
    out = await _exec(
        streams,
        s.ExecInput(start=shell),
        s.ExecInput(resize=s.TerminalSize(width=100, height=30)),
        s.ExecInput(stdin=b"stty size\r"),
        s.ExecInput(stdin=b"exit 2\r"),
    )
    assert b"30 100\r\n" in out[0] and out[2] == 2
    missing = s.ExecStart(ref=_ref("box"), command=["nope"])
    assert (await _exec(streams, s.ExecInput(start=missing)))[2] == 127


async def test_port_forward_reaches_the_pods_port(
    shoal_client: Client, start_agent: StartAgent, streams: Any
) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data.upper())
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await start_agent()
    await shoal_client.create(pod("echo", node="node-1"))
    await eventually(lambda: _running(shoal_client, "echo"))
    call = streams.PortForward()
    await call.write(s.PortForwardFrame(start=s.PortForwardStart(ref=_ref("echo"), port=port)))
    await call.write(s.PortForwardFrame(data=b"hello"))
    reply = await call.read()
    assert reply.data == b"HELLO"
    await call.write(s.PortForwardFrame(close=True))
    await call.done_writing()
    rest = []
    while (frame := await call.read()) != grpc.aio.EOF:
        rest.append(frame)
    assert rest[-1].close
    server.close()


async def test_images_list_and_load(
    shoal_client: Client, start_agent: StartAgent, streams: Any, tmp_path: Any
) -> None:
    import io
    import json
    import tarfile

    await start_agent()
    archive = tmp_path / "img.tar"
    with tarfile.open(archive, "w") as tar:
        data = json.dumps([{"RepoTags": ["local/app:1"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    call = streams.LoadImage()
    payload = archive.read_bytes()
    await call.write(s.LoadImageChunk(node="node-1", data=payload[:100]))
    await call.write(s.LoadImageChunk(data=payload[100:]))
    await call.done_writing()
    assert list((await call).tags) == ["local/app:1"]
    images = await streams.ListImages(s.ListImagesRequest(node="node-1"))
    assert ["local/app:1"] in [list(i.tags) for i in images.images]
    p = pod("local", node="node-1", image="local/app:1")
    p.spec.containers[0].image_pull_policy = "Never"
    await shoal_client.create(p)
    await eventually(lambda: _running(shoal_client, "local"))


async def test_port_forward_needs_no_container_in_a_pod_of_two(
    shoal_client: Client, start_agent: StartAgent, streams: Any
) -> None:
    """A port belongs to the pod's network namespace, not to a container
    (kubectl port-forward has no -c)."""

    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"from the pod")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(hello, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await start_agent()
    p = pod("duo", node="node-1")
    p.spec.containers.add(name="client", image="busybox:1.36")
    await shoal_client.create(p)
    await eventually(lambda: _running(shoal_client, "duo"))
    call = streams.PortForward()
    await call.write(s.PortForwardFrame(start=s.PortForwardStart(ref=_ref("duo"), port=port)))
    await call.done_writing()
    frames = [frame async for frame in call]
    assert b"".join(f.data for f in frames) == b"from the pod" and frames[-1].close
    server.close()
