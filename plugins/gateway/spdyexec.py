"""``exec`` and ``attach`` over SPDY (``v4.channel.k8s.io`` and older), as the kubelet
serves it to kubectl < 1.30 and to kubectl 1.30+ when WebSockets fail or
``KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false``.

The client opens one stream per channel, each with a ``streamtype`` header:
``error``, then ``stdin``, ``stdout``, ``stderr`` as the query asked (no
stderr with a tty), and ``resize`` (v3+, with a tty: JSON
``{"Width","Height"}`` objects one after another). Once all are there the
command runs; at its end the error stream carries the outcome (v4/v5: a
JSON Status, Success or NonZeroExitCode with the code in
``details.causes``; v2/v3: the failure's message, nothing on success), every
stream is closed and the connection is ended."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import grpc
from aiohttp import web
from shoal.api.v1 import streams_pb2 as s
from shoal.plugins.gateway import spdyupgrade
from shoal.plugins.gateway.podstreams import end_call, exit_status, rpc_error
from shoal.plugins.gateway.spdysession import Stream
from shoal.plugins.gateway.status import bad_request

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io")
STREAMS_TIMEOUT = 30.0  # the kubelet's default stream creation timeout


def expected_streams(start: s.ExecStart, stdout: bool, stderr: bool, protocol: str) -> set[str]:
    wanted = {"error"}
    if start.stdin:
        wanted.add("stdin")
    if stdout:
        wanted.add("stdout")
    if stderr and not start.tty:
        wanted.add("stderr")
    if start.tty and protocol != "v2.channel.k8s.io":
        wanted.add("resize")
    return wanted


class ExecSession:
    """Collects the client's streams, then runs the command over them."""

    def __init__(
        self, stub: Any, start: s.ExecStart, wanted: set[str], method: str = "Exec"
    ) -> None:
        self.stub, self.method = stub, method
        self.start = start
        self.wanted = wanted
        self.protocol = ""
        self.streams: dict[str, Stream] = {}
        self.ready = asyncio.Event()

    async def opened(self, stream: Stream) -> None:
        kind = stream.header("streamtype")
        if kind not in self.wanted or kind in self.streams:
            await stream.reset()
            return
        await stream.reply()
        self.streams[kind] = stream
        if set(self.streams) == self.wanted:
            self.ready.set()

    async def run(self) -> None:
        """Waits for the streams, runs the command, reports, closes them."""
        try:
            await asyncio.wait_for(self.ready.wait(), STREAMS_TIMEOUT)
        except TimeoutError:
            late = TimeoutError("timed out waiting for client to create streams")
            await self._report(exit_status(0, late))
            return
        code, failure = await self._exec()
        await self._report(exit_status(code, failure))

    async def _exec(self) -> tuple[int, BaseException | None]:
        inputs: asyncio.Queue[s.ExecInput | None] = asyncio.Queue()
        pumps = [asyncio.create_task(_stdin(self.streams.get("stdin"), inputs))]
        if "resize" in self.streams:
            pumps.append(asyncio.create_task(_resizes(self.streams["resize"], inputs)))

        async def requests() -> Any:
            yield s.ExecInput(start=self.start)
            while (item := await inputs.get()) is not None:
                yield item

        code = 0
        call = getattr(self.stub, self.method)(requests())
        try:
            async for reply in call:
                which = reply.WhichOneof("output")
                if which == "exit_code":  # the last message: the status adds nothing
                    code = reply.exit_code
                    end_call(call)
                    break
                if which in ("stdout", "stderr"):
                    out = self.streams.get(which) or self.streams.get("stdout")
                    if out is not None:
                        await out.write(getattr(reply, which))
        except grpc.aio.AioRpcError as err:
            return code, rpc_error(err)
        finally:
            for pump in pumps:
                pump.cancel()
            inputs.put_nowait(None)  # ends the request stream, so gRPC's reader of it ends too
        return code, None

    async def _report(self, status: dict[str, Any]) -> None:
        error = self.streams.get("error")
        if error is not None:
            if self.protocol in ("v4.channel.k8s.io", "v5.channel.k8s.io"):
                await error.write(json.dumps(status).encode())
            elif status.get("status") != "Success":
                await error.write(status.get("message", "").encode())
        for stream in self.streams.values():
            with contextlib.suppress(Exception):
                await stream.close()


async def _stdin(stream: Stream | None, inputs: asyncio.Queue[s.ExecInput | None]) -> None:
    if stream is None:
        return
    while data := await stream.read():
        await inputs.put(s.ExecInput(stdin=data))
    await inputs.put(s.ExecInput(close_stdin=True))


async def _resizes(stream: Stream, inputs: asyncio.Queue[s.ExecInput | None]) -> None:
    """Go's json.Encoder writes one object after another; take each whole one."""
    decoder, pending = json.JSONDecoder(), ""
    while data := await stream.read():
        pending += data.decode(errors="replace")
        while pending.strip():
            try:
                size, end = decoder.raw_decode(pending.lstrip())
            except json.JSONDecodeError:
                break  # the rest has not arrived yet
            pending = pending.lstrip()[end:]
            with contextlib.suppress(KeyError, TypeError, ValueError):
                resize = s.TerminalSize(width=int(size["Width"]), height=int(size["Height"]))
                await inputs.put(s.ExecInput(resize=resize))


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


async def serve(
    stub: Any, request: web.Request, ref: s.ContainerRef, method: str = "Exec"
) -> web.StreamResponse:
    """Serve one exec (or, ``method`` Attach, one attach) over SPDY until
    the command (the container's process) ends or the client goes."""
    commands = request.query.getall("command", []) if method == "Exec" else []
    if method == "Exec" and not commands:
        raise bad_request("you must specify at least 1 command")
    stdout, stderr = _flag(request, "stdout"), _flag(request, "stderr")
    start = s.ExecStart(
        ref=ref, command=commands, stdin=_flag(request, "stdin"), tty=_flag(request, "tty")
    )
    if not (start.stdin or stdout or stderr):
        raise bad_request("you must specify at least 1 of stdin, stdout, stderr")
    session = ExecSession(stub, start, set(), method)
    runner: asyncio.Task[None] | None = None

    async def upgraded(protocol: str, spdy_session: Any) -> None:
        nonlocal runner
        session.protocol = protocol
        session.wanted = expected_streams(start, stdout, stderr, protocol)

        async def run() -> None:
            await session.run()
            await spdy_session.finish()

        runner = asyncio.create_task(run())

    try:
        response, _ = await spdyupgrade.serve(request, PROTOCOLS, session.opened, upgraded)
    finally:
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
    return response
