"""Streams.Attach through the API server to the agent (fake runtime): a
container's shell typed into and watched, and the refusals."""

from __future__ import annotations

import asyncio
import sys
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
from tests.ctl.conftest import invoke
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
    # Both end with a last message of 0, so readers stop there instead of on
    # the call's status, which stdin still in flight could turn into INTERNAL
    # (the container's own code is in its status below).
    assert rest[-1] == s.ExecOutput(exit_code=0) and watched[-1] == s.ExecOutput(exit_code=0)
    assert not any(o.HasField("exit_code") for o in rest[:-1] + watched[:-1])
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


async def _shoal(server: APIServer, *args: str, input: bytes = b"") -> tuple[int, str, str]:
    """The ``shoal`` command line, as a user runs it (a process: stdin is a pipe)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shoal.ctl.main", "--server", f"127.0.0.1:{server.port}", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(input), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_shoal_run_interactive_attaches_and_removes(
    shoal_server: APIServer, shoal_client: Client, start_agent: StartAgent
) -> None:
    await start_agent()
    on_node = ["--overrides", '{"spec": {"nodeName": "node-1"}}']  # no scheduler here
    code, out, err = await _shoal(
        shoal_server, "run", "once", "-i", "--rm", "--restart=Never", "--image=busybox", *on_node,
        "--", "sh", input=b"echo typed-in\nexit 3\n",
    )  # fmt: skip
    assert code == 3, err
    assert "typed-in\n" in out and 'pod "once" deleted' in out
    assert "error: pod default/once terminated (Error)" in err
    assert [p.metadata.name for p in (await shoal_client.list("Pod", "default")).items] == []


async def test_shoal_attach_types_into_a_running_pod(
    shoal_server: APIServer, shoal_client: Client, start_agent: StartAgent
) -> None:
    await start_agent()
    await _shell_pod(shoal_client, "kept", stdin_once=True)
    code, out, err = await _shoal(shoal_server, "attach", "-i", "kept", input=b"echo hi\nexit 0\n")
    assert (code, out) == (0, "hi\n"), err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "x", "--image=busybox", "-t"], "-i/--stdin is required"),
        (["run", "x", "--image=busybox", "--rm"], "--rm should only be used"),
        (["attach", "nope"], 'pods "nope" not found'),
    ],
    ids=["tty-without-stdin", "rm-without-stdin", "no-pod"],
)
async def test_shoal_run_and_attach_refusals(
    shoal_server: APIServer, args: list[str], words: str
) -> None:
    # in-process: refusals read no stdin, and a Python process per case is
    # seconds of start-up each on a loaded machine
    argv = ["--server", f"127.0.0.1:{shoal_server.port}", *args]
    result = await asyncio.to_thread(invoke, argv)
    assert result.code != 0 and words in result.err and "Traceback" not in result.err, result.err
