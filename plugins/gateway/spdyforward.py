"""``kubectl port-forward`` over SPDY (``portforward.k8s.io``), as the
kubelet serves it: for each forwarded connection the client opens an
"error" stream and a "data" stream, both with the headers ``streamtype``,
``port`` and ``requestid``. Once both are there, the data stream's bytes go
to the pod's port through the agent's port-forward stream and back; a
failure is written as text on the error stream; both streams are then
closed, which tells kubectl this connection is over."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from aiohttp import web
from shoal.api.v1 import streams_pb2 as s
from shoal.plugins.gateway import spdyupgrade
from shoal.plugins.gateway.podstreams import rpc_error
from shoal.plugins.gateway.spdysession import Stream

log = structlog.get_logger("gateway.portforward")
PROTOCOLS = ("portforward.k8s.io",)
PAIR_TIMEOUT = 30.0  # the kubelet's default stream creation timeout


@dataclass
class Pair:
    request_id: str
    error: Stream | None = None
    data: Stream | None = None


def check_headers(stream: Stream) -> str:
    """Why a stream is refused, or "" (the kubelet's checks and words)."""
    port = stream.header("port")
    if not port:
        return '"port" header is required'
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        return f'unable to parse "{port}" as a port'
    kind = stream.header("streamtype")
    if not kind:
        return '"streamType" header is required'
    if kind not in ("error", "data"):
        return f'invalid stream type "{kind}"'
    return ""


def request_id(stream: Stream) -> str:
    """The requestid header; old clients send none, and their error and data
    streams then have consecutive odd ids (the kubelet's fallback)."""
    found = stream.header("requestid")
    if found:
        return found
    return str(stream.id if stream.header("streamtype") == "error" else stream.id - 2)


class PortForwardSession:
    """The streams of one upgraded connection, paired by request id."""

    def __init__(self, stub: Any, pod: Any) -> None:
        self.stub = stub
        self.pod = pod
        self.ref = s.ContainerRef(namespace=pod.metadata.namespace, pod=pod.metadata.name)
        self.pairs: dict[str, Pair] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    async def opened(self, stream: Stream) -> None:
        problem = check_headers(stream)
        if problem:
            log.info("port-forward stream refused", reason=problem)
            await stream.reset()
            return
        await stream.reply()
        key = request_id(stream)
        pair = self.pairs.get(key)
        if pair is None:
            pair = self.pairs[key] = Pair(key)
            self._spawn(self._expire(pair))
        kind = stream.header("streamtype")
        if getattr(pair, kind) is not None:
            message = f"error processing stream for request {key}: {kind} stream already assigned"
            if pair.error is not None:
                await pair.error.write(message.encode())
            await stream.reset()
            return
        setattr(pair, kind, stream)
        if pair.error is not None and pair.data is not None:
            self.pairs.pop(key, None)
            self._spawn(self._forward(pair.error, pair.data))

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _expire(self, pair: Pair) -> None:
        await asyncio.sleep(PAIR_TIMEOUT)
        if self.pairs.get(pair.request_id) is pair:
            del self.pairs[pair.request_id]
            if pair.error is not None:
                await pair.error.write(
                    f"request {pair.request_id}: timed out waiting for streams".encode()
                )
            for stream in (pair.error, pair.data):
                if stream is not None:
                    await stream.reset()

    async def _forward(self, error: Stream, data: Stream) -> None:
        port = int(data.header("port"))
        outgoing: asyncio.Queue[bytes | None] = asyncio.Queue()
        call = self.stub.PortForward(_frames(self.ref, port, outgoing))
        upload = asyncio.create_task(_upload(data, outgoing))
        try:
            async for frame in call:
                which = frame.WhichOneof("frame")
                if which == "data":
                    await data.write(frame.data)
                elif which == "close" or data.was_reset:
                    break
        except grpc.aio.AioRpcError as err:
            pod = self.pod.metadata
            message = (
                f"error forwarding port {port} to pod {pod.name}, uid {pod.uid}: {rpc_error(err)}"
            )
            await error.write(message.encode())
        finally:
            upload.cancel()
            call.cancel()
            await data.close()
            await error.close()

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self.tasks, return_exceptions=True)


async def _frames(ref: s.ContainerRef, port: int, outgoing: asyncio.Queue[bytes | None]) -> Any:
    yield s.PortForwardFrame(start=s.PortForwardStart(ref=ref, port=port))
    while (chunk := await outgoing.get()) is not None:
        yield s.PortForwardFrame(data=chunk)
    yield s.PortForwardFrame(close=True)  # the client finished sending: half-close


async def _upload(data: Stream, outgoing: asyncio.Queue[bytes | None]) -> None:
    while chunk := await data.read():
        await outgoing.put(chunk)
    await outgoing.put(None)


async def serve(stub: Any, pod: Any, request: web.Request) -> web.StreamResponse:
    """Serve one SPDY port-forward connection (plain upgrade or WebSocket
    tunnel) to ``pod`` until the client goes."""
    session = PortForwardSession(stub, pod)
    try:
        response, _ = await spdyupgrade.serve(request, PROTOCOLS, session.opened)
    finally:
        await session.close()
    return response
