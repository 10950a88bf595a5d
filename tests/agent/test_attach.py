"""Streams.Attach through the API server to the agent (fake runtime): a
container's shell typed into and watched, and the refusals."""

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
from shoal.plugins.runtimes.fake import FakeRuntime

from tests.agent.conftest import StartAgent
from tests.integration.helpers import eventually, pod


@pytest.fixture
async def streams(shoal_server: APIServer) -> AsyncIterator[streams_pb2_grpc.StreamsStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{shoal_server.port}") as channel:
        yield streams_pb2_grpc.StreamsStub(channel)


async def _shell_pod(client: Client, name: str, **container: Any) -> None:
    p = pod(name, node="node-1", restartPolicy="Never")
    main = p.spec.containers[0]
    main.command.append("sh")
    main.stdin = True
    for field, value in container.items():
        setattr(main, field, value)
    await client.create(p)

    async def running() -> bool:
        return (await client.get("Pod", name)).status.phase == "Running"

    await eventually(running)


def _start(name: str, **fields: Any) -> s.ExecInput:
    ref = s.ContainerRef(namespace="default", pod=name)
    return s.ExecInput(start=s.ExecStart(ref=ref, **fields))


async def test_attach_types_into_the_shell_and_ends_with_it(
    shoal_client: Client, start_agent: StartAgent, streams: Any
) -> None:
    runtime = FakeRuntime()
    await start_agent(runtime=runtime)
    await _shell_pod(shoal_client, "talk", stdin_once=True)
    typed: asyncio.Queue[s.ExecInput | None] = asyncio.Queue()

    async def inputs() -> AsyncIterator[s.ExecInput]:
        yield _start("talk", stdin=True)
        while (item := await typed.get()) is not None:
            yield item

    watcher = streams.Attach(iter([_start("talk")]))
    call = streams.Attach(inputs())
    [container] = runtime.containers.values()
    await eventually(lambda: len(container.main.attached) == 2)  # both attached: type
    await typed.put(s.ExecInput(stdin=b"echo hello; echo oops >&2\n"))
    seen: list[s.ExecOutput] = []
    async for out in call:
        seen.append(out)
        if any(o.stderr == b"oops\n" for o in seen) and any(o.stdout for o in seen):
            break
    assert [o.stdout for o in seen if o.stdout] == [b"hello\n"]
    await typed.put(s.ExecInput(stdin=b"exit 4\n"))
    rest = [out async for out in call]
    watched = [out async for out in watcher]  # it ends when the shell does
    assert not any(o.HasField("exit_code") for o in rest + watched)  # attach has no exit code
    assert [o.stdout for o in watched if o.stdout] == [b"hello\n"]

    async def exited() -> int | None:
        statuses = (await shoal_client.get("Pod", "talk")).status.container_statuses
        state = statuses[0].state if statuses else None
        return state.terminated.exit_code if state and state.HasField("terminated") else None

    assert await eventually(exited) == 4


@pytest.mark.parametrize(
    ("first", "code", "words"),
    [
        (
            _start("talk", command=["ls"]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "attach runs no command",
        ),
        (s.ExecInput(stdin=b"x"), grpc.StatusCode.INVALID_ARGUMENT, "first message must be start"),
        (_start("nope"), grpc.StatusCode.NOT_FOUND, 'pods "nope" not found'),
    ],
    ids=["command", "no-start", "no-pod"],
)
async def test_attach_refusals(
    shoal_client: Client, start_agent: StartAgent, streams: Any, first: Any, code: Any, words: str
) -> None:
    await start_agent()
    await _shell_pod(shoal_client, "talk")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        [out async for out in streams.Attach(iter([first]))]
    assert err.value.code() == code and words in (err.value.details() or "")
