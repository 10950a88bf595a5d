"""Pod ``proxy`` and ``portforward`` subresources over the agent's
port-forward stream.

``GET /api/v1/namespaces/NS/pods/NAME[:PORT]/proxy/PATH`` sends one HTTP/1.1
request to the pod's port (PORT, else the first port a container declares,
else 80) and answers with the pod's reply, as ``kubectl proxy`` users expect.

``portforward`` serves the Kubernetes WebSocket port-forward protocol
(``v4.channel.k8s.io``, ``?ports=80,443``): port i uses data channel 2i and
error channel 2i+1, and each channel opens with its port as two
little-endian bytes. kubectl's SPDY (plain or tunnelled) is spdyforward.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import grpc
from aiohttp import web
from shoal.api.v1 import streams_pb2 as s
from shoal.api.v1 import streams_pb2_grpc
from shoal.client import Client
from shoal.plugins.gateway import spdyforward, spdyupgrade
from shoal.plugins.gateway.httpwire import parse_response, request_bytes
from shoal.plugins.gateway.paths import Target
from shoal.plugins.gateway.podstreams import channel_frame, rpc_error
from shoal.plugins.gateway.status import StatusError, bad_request

PORT_FORWARD_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")
MAX_PROXY_BODY = 64 * 1024 * 1024


def split_name_port(name: str) -> tuple[str, str]:
    """``web:8080`` -> ("web", "8080"); ``http:web:8080`` -> ("web", "8080")."""
    parts = name.split(":")
    if len(parts) == 3 and parts[0] in ("http", "https"):
        parts = parts[1:]
    if len(parts) > 2:
        raise bad_request(f'invalid pod name "{name}": want NAME, NAME:PORT or SCHEME:NAME:PORT')
    return parts[0], parts[1] if len(parts) == 2 else ""


def choose_port(pod: Any, asked: str) -> int:
    declared = [p for c in pod.spec.containers for p in c.ports]
    if not asked:
        return int(declared[0].container_port) if declared else 80
    if asked.isascii() and asked.isdigit():
        return int(asked)
    for port in declared:
        if port.name == asked:
            return int(port.container_port)
    raise bad_request(f'pod "{pod.metadata.name}" has no port named "{asked}"')


async def _frames(ref: s.ContainerRef, port: int, outgoing: asyncio.Queue[bytes | None]) -> Any:
    yield s.PortForwardFrame(start=s.PortForwardStart(ref=ref, port=port))
    while (data := await outgoing.get()) is not None:
        yield s.PortForwardFrame(data=data)
    yield s.PortForwardFrame(close=True)


class PodProxy:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.stub = streams_pb2_grpc.StreamsStub(client.channel)

    async def proxy(self, request: web.Request, target: Target) -> web.Response:
        name, asked = split_name_port(target.name)
        pod = await self.client.get("Pod", name, target.namespace)
        port = choose_port(pod, asked)
        ref = s.ContainerRef(namespace=target.namespace, pod=name)
        raw = request_bytes(
            request.method, "/" + target.rest, request.query_string, request.headers,
            await request.read(), f"{name}:{port}",
        )  # fmt: skip
        reply = await self._exchange(ref, port, raw)
        code, headers, body = parse_response(reply)
        return web.Response(status=code, headers=headers, body=body)

    async def _exchange(self, ref: s.ContainerRef, port: int, raw: bytes) -> bytes:
        """Send one request, read until the pod closes (Connection: close)."""
        outgoing: asyncio.Queue[bytes | None] = asyncio.Queue()
        outgoing.put_nowait(raw)
        received = bytearray()
        call = self.stub.PortForward(_frames(ref, port, outgoing))
        try:
            async for frame in call:
                if frame.WhichOneof("frame") == "data":
                    received += frame.data
                    if len(received) > MAX_PROXY_BODY:
                        raise StatusError("InternalError", "the pod's reply is too large")
                elif frame.WhichOneof("frame") == "close":
                    break
        except grpc.aio.AioRpcError as err:
            raise rpc_error(err) from None
        finally:
            outgoing.put_nowait(None)
            call.cancel()
        if not received:
            raise StatusError(
                "ServiceUnavailable", f"error trying to reach pod port {port}: no reply"
            )
        return bytes(received)

    async def port_forward(self, request: web.Request, target: Target) -> web.StreamResponse:
        if spdyupgrade.wants_spdy(request):  # kubectl: SPDY, plain or tunnelled in a WebSocket
            pod = await self.client.get("Pod", target.name, target.namespace)
            return await spdyforward.serve(self.stub, pod, request)
        ws = web.WebSocketResponse(protocols=PORT_FORWARD_PROTOCOLS)
        if not ws.can_prepare(request).ok:
            raise bad_request(
                "portforward needs a WebSocket upgrade (v4.channel.k8s.io, or SPDY/3.1 "
                "tunnelled as SPDY/3.1+portforward.k8s.io) or an Upgrade: SPDY/3.1"
            )
        ports = _ports(request.query.getall("ports", []))
        await self.client.get("Pod", target.name, target.namespace)  # 404 before the upgrade
        await ws.prepare(request)
        ref = s.ContainerRef(namespace=target.namespace, pod=target.name)
        queues: list[asyncio.Queue[bytes | None]] = [asyncio.Queue() for _ in ports]
        for i, port in enumerate(ports):
            header = bytes([port & 0xFF, port >> 8])
            await ws.send_bytes(bytes([2 * i]) + header)
            await ws.send_bytes(bytes([2 * i + 1]) + header)
        pumps = [
            asyncio.create_task(self._pump_port(ws, ref, port, i, queues[i]))
            for i, port in enumerate(ports)
        ]
        # As the kubelet's websocket port-forward: the connection ends when
        # the client closes it or when every port's forwarding is over (the
        # pod closed its side), so a client reading to the end sees the end.
        reader = asyncio.create_task(_read_ports(ws, queues))
        forwarding: asyncio.Future[Any] = asyncio.gather(*pumps, return_exceptions=True)
        try:
            waited: list[asyncio.Future[Any]] = [reader, forwarding]
            await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            for q in queues:
                q.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*pumps, return_exceptions=True), 5)
            await ws.close()
        return ws

    async def _pump_port(
        self, ws: web.WebSocketResponse, ref: s.ContainerRef, port: int, index: int,
        outgoing: asyncio.Queue[bytes | None],
    ) -> None:  # fmt: skip
        call = self.stub.PortForward(_frames(ref, port, outgoing))
        try:
            async for frame in call:
                which = frame.WhichOneof("frame")
                if which == "data":
                    await ws.send_bytes(bytes([2 * index]) + frame.data)
                elif which == "close":  # the pod closed its side: this port is done
                    return
        except grpc.aio.AioRpcError as err:
            message = f"error forwarding port {port}: {rpc_error(err)}"
            with contextlib.suppress(ConnectionResetError):
                await ws.send_bytes(bytes([2 * index + 1]) + message.encode())
        finally:
            call.cancel()


def _ports(values: list[str]) -> list[int]:
    ports = [p.strip() for v in values for p in v.split(",") if p.strip()]
    if not ports:
        raise bad_request("at least one port must be given (?ports=80)")
    if not all(p.isascii() and p.isdigit() and 0 < int(p) < 65536 for p in ports):
        raise bad_request(f"invalid port in {ports}")
    return [int(p) for p in ports]


async def _read_ports(ws: web.WebSocketResponse, queues: list[asyncio.Queue[bytes | None]]) -> None:
    async for message in ws:
        frame = channel_frame(message)
        if not frame:
            continue
        channel, data = frame[0], frame[1:]
        if channel % 2 == 0 and channel // 2 < len(queues) and data:
            await queues[channel // 2].put(data)
