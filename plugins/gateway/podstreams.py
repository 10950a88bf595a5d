"""Pod ``log``, ``exec`` and ``attach`` subresources, carried to the agent
of the pod's node through the API server's Streams service.

``exec`` and ``attach`` speak the Kubernetes WebSocket channel protocol
(``v5.channel.k8s.io``/``v4.channel.k8s.io``): every binary message starts
with its channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the final Status,
4 terminal resizes, 255 (v5) "close this channel". kubectl's SPDY is
spdyexec.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
from aiohttp import WSMsgType, web
from shoal import errors
from shoal.api.v1 import streams_pb2 as s
from shoal.api.v1 import streams_pb2_grpc
from shoal.client import Client
from shoal.plugins.gateway import spdyupgrade
from shoal.plugins.gateway.paths import Target
from shoal.plugins.gateway.status import bad_request, status, success

CHANNEL_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
FIRST_CHUNK_WAIT = 0.2  # seconds a log waits for an early error before it answers 200


def rpc_error(err: BaseException) -> BaseException:
    if isinstance(err, grpc.aio.AioRpcError):
        return errors.from_status(err.code(), err.details() or "", err.trailing_metadata() or ())
    return err


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


def _int(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None or text == "":
        return None
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise bad_request(f'{name}: invalid value "{text}", expected an integer')
    return int(text)


class PodStreams:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.stub = streams_pb2_grpc.StreamsStub(client.channel)

    def _ref(self, request: web.Request, target: Target) -> s.ContainerRef:
        return s.ContainerRef(
            namespace=target.namespace,
            pod=target.name,
            container=request.query.get("container", ""),
        )

    async def log(self, request: web.Request, target: Target) -> web.StreamResponse:
        logs = s.LogsRequest(
            ref=self._ref(request, target),
            follow=_flag(request, "follow"),
            previous=_flag(request, "previous"),
            timestamps=_flag(request, "timestamps"),
        )
        tail = _int(request, "tailLines")
        if tail is not None and tail >= 0:
            logs.tail_lines = tail
        limit = _int(request, "limitBytes")
        chunks = _chunks(self.stub.Logs(logs))
        first = asyncio.ensure_future(anext(chunks))
        await asyncio.wait({first}, timeout=FIRST_CHUNK_WAIT)
        if first.done() and isinstance(first.exception(), errors.APIError):
            raise first.exception()  # type: ignore[misc]
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError, StopAsyncIteration, errors.APIError):
            await _copy_log(first, chunks, response, limit)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def exec(self, request: web.Request, target: Target) -> web.StreamResponse:
        return await self._interactive(request, target, "Exec")

    async def attach(self, request: web.Request, target: Target) -> web.StreamResponse:
        return await self._interactive(request, target, "Attach")

    async def _interactive(
        self, request: web.Request, target: Target, method: str
    ) -> web.StreamResponse:
        """Exec or Attach, over SPDY or a channel WebSocket."""
        what = method.lower()
        if spdyupgrade.wants_spdy(request):  # older kubectl, or WebSockets turned off
            from shoal.plugins.gateway import spdyexec  # it builds on this module

            await self.client.get("Pod", target.name, target.namespace)  # 404 before the upgrade
            return await spdyexec.serve(self.stub, request, self._ref(request, target), method)
        ws = web.WebSocketResponse(protocols=CHANNEL_PROTOCOLS)
        if not ws.can_prepare(request).ok:
            raise bad_request(
                f"{what} needs a WebSocket upgrade with protocol v5.channel.k8s.io or "
                "v4.channel.k8s.io, or an Upgrade: SPDY/3.1"
            )
        commands = request.query.getall("command", []) if method == "Exec" else []
        if method == "Exec" and not commands:
            raise bad_request("you must specify at least 1 command")
        await ws.prepare(request)
        start = s.ExecStart(
            ref=self._ref(request, target),
            command=commands,
            stdin=_flag(request, "stdin"),
            tty=_flag(request, "tty"),
        )
        await _run_exec(self.stub, ws, start, method)
        return ws


async def _chunks(call: Any) -> AsyncIterator[bytes]:
    try:
        async for chunk in call:
            yield chunk.data
    except grpc.aio.AioRpcError as err:
        raise rpc_error(err) from None
    finally:
        call.cancel()


async def _copy_log(
    first: asyncio.Future[bytes], chunks: AsyncIterator[bytes], out: web.StreamResponse,
    limit: int | None,
) -> None:  # fmt: skip
    left = limit if limit is not None and limit > 0 else None
    try:
        data = await first
        while True:
            if left is not None:
                data, left = data[:left], left - len(data[:left])
            await out.write(data)
            if left == 0:
                return
            data = await anext(chunks)
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


async def _run_exec(
    stub: Any, ws: web.WebSocketResponse, start: s.ExecStart, method: str = "Exec"
) -> None:
    inputs: asyncio.Queue[s.ExecInput | None] = asyncio.Queue()
    reader = asyncio.create_task(_read_channels(ws, inputs, start.stdin))

    async def requests() -> AsyncIterator[s.ExecInput]:
        yield s.ExecInput(start=start)
        while (item := await inputs.get()) is not None:
            yield item

    code, failure = 0, None
    call = getattr(stub, method)(requests())
    try:
        async for reply in call:
            which = reply.WhichOneof("output")
            if which == "exit_code":  # the last message: the status adds nothing
                code = reply.exit_code
                end_call(call)
                break
            if which in ("stdout", "stderr"):
                channel = STDOUT if which == "stdout" else STDERR
                await ws.send_bytes(bytes([channel]) + getattr(reply, which))
    except grpc.aio.AioRpcError as err:
        failure = rpc_error(err)
    finally:
        reader.cancel()
        inputs.put_nowait(None)  # ends the request stream, so gRPC's reader of it ends too
    with contextlib.suppress(ConnectionResetError):  # the client went first (kubectl cp does)
        await ws.send_bytes(bytes([ERROR]) + json.dumps(exit_status(code, failure)).encode())
        await ws.close()


def end_call(call: Any) -> None:
    """Stop an exec or attach whose last message (the exit code) came: its
    status adds nothing, and stdin still in flight could make it INTERNAL."""
    cancel = getattr(call, "cancel", None)  # a gRPC call; a plain stream just ends
    if cancel is not None:
        cancel()


def exit_status(code: int, failure: BaseException | None) -> dict[str, Any]:
    if isinstance(failure, errors.APIError):
        return status(failure.reason, failure.message)
    if failure is not None:
        return status("InternalError", str(failure))
    if code == 0:
        return success()
    body = status("NonZeroExitCode", f"command terminated with non-zero exit code: {code}")
    body["details"] = {"causes": [{"reason": "ExitCode", "message": str(code)}]}
    return body


def channel_frame(message: Any) -> bytes:
    """A channel frame's bytes: kubectl sends BINARY frames; the official
    Python client sends a ``str`` as a TEXT frame whose first character is
    the channel number (Kubernetes' server takes both)."""
    if message.type == WSMsgType.BINARY:
        return bytes(message.data)
    if message.type == WSMsgType.TEXT and message.data:
        channel = ord(message.data[0])
        return bytes([channel]) + message.data[1:].encode() if channel < 256 else b""
    return b""


async def _read_channels(
    ws: web.WebSocketResponse, inputs: asyncio.Queue[s.ExecInput | None], stdin: bool
) -> None:
    """stdin, resizes and v5's close from the client, as Exec inputs."""
    async for message in ws:
        frame = channel_frame(message)
        if not frame:
            continue
        channel, data = frame[0], frame[1:]
        if channel == STDIN and stdin and data:
            await inputs.put(s.ExecInput(stdin=data))
        elif channel == RESIZE:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                size = json.loads(data)
                resize = s.TerminalSize(width=int(size["Width"]), height=int(size["Height"]))
                await inputs.put(s.ExecInput(resize=resize))
        elif channel == CLOSE and data[:1] == bytes([STDIN]):
            await inputs.put(s.ExecInput(close_stdin=True))
    if stdin:
        await inputs.put(s.ExecInput(close_stdin=True))
