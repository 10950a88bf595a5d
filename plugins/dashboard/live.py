"""Server-sent events: a kind's rows as its watch reports them, and a pod's
log as it is written. Each stream runs as the user (the request's
impersonation metadata) and ends when the browser goes away."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import grpc
from aiohttp import web
from shoal import errors, manifest
from shoal.api.v1 import streams_pb2 as s
from shoal.api.v1 import streams_pb2_grpc
from shoal.plugins.dashboard import pages, views
from shoal.plugins.dashboard.errors import Refused
from shoal.plugins.gateway.podstreams import rpc_error

HEARTBEAT = 15.0  # seconds between comments that keep idle proxies from closing the stream


async def _open(request: web.Request) -> web.StreamResponse:
    answer = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await answer.prepare(request)
    return answer


async def _send(answer: web.StreamResponse, event: str, data: Any) -> None:
    await answer.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())


async def watch(request: web.Request) -> web.StreamResponse:
    """``/watch?kind=pods&ns=default&rv=N``: ``row`` events (``type``,
    ``key``, ``cells``) from resource version ``rv`` on; ``relist`` when it
    was compacted away (the page reloads its tables)."""
    client = request.app[pages.CLIENT_KEY]
    kind = views.find_kind(request.query.get("kind", ""))
    ns = pages.namespace_param(request)
    scope = "" if ns == pages.ALL or not kind.namespaced else ns
    rv = request.query.get("rv", "")
    if rv and not rv.isdigit():
        raise Refused(f'rv: "{rv[:40]}" is not a resource version')
    all_ns = not scope and kind.namespaced
    stream = client.watch(kind, scope, resource_version=rv)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.wait({first}, timeout=0.2)  # refusals (403) answer as errors, not streams
    if first.done() and isinstance(first.exception(), errors.APIError):
        raise first.exception()  # type: ignore[misc]
    answer = await _open(request)
    usage: dict[str, Any] = {}
    with contextlib.suppress(ConnectionResetError, StopAsyncIteration):
        try:
            pending: asyncio.Future[Any] = first
            while True:
                done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT)
                if not done:
                    await answer.write(b": alive\n\n")
                    continue
                event = pending.result()
                pending = asyncio.ensure_future(anext(stream))
                if event.object is None or event.type == "BOOKMARK":
                    continue
                obj = manifest.to_dict(event.object)
                meta = obj.get("metadata") or {}
                if views.is_node(kind):
                    usage = await views.node_usage(client)
                row = views.cells(kind, obj, all_ns, usage)
                key = f"{meta.get('namespace', '') if all_ns else ''}/{meta.get('name', '')}"
                html = views.render_row(kind, row, all_ns)
                await _send(answer, "row", {"type": event.type, "key": key, "html": html})
        except errors.GoneError:
            await _send(answer, "relist", {})
        finally:
            await _close(pending, stream)
    return answer


async def _close(pending: asyncio.Future[Any], stream: Any) -> None:
    """Stop the watch: its pending read first (a generator cannot be closed
    while a read runs in it), then the generator, which cancels the call."""
    pending.cancel()
    with contextlib.suppress(BaseException):
        await pending
    await stream.aclose()


async def logs(request: web.Request) -> web.StreamResponse:
    """``/logs?ns=default&pod=web&container=c``: ``line`` events that follow the log."""
    client = request.app[pages.CLIENT_KEY]
    ns = pages.namespace_param(request)
    pod = request.query.get("pod", "")
    if not pod:
        raise Refused("pod: the pod's name is required")
    await client.get("Pod", pod, ns)  # 404 / 403 before the stream opens
    ref = s.ContainerRef(namespace=ns, pod=pod, container=request.query.get("container", ""))
    call = streams_pb2_grpc.StreamsStub(client.channel).Logs(
        s.LogsRequest(ref=ref, follow=True, tail_lines=500)
    )
    answer = await _open(request)
    rest = b""
    with contextlib.suppress(ConnectionResetError):
        try:
            async for chunk in call:
                lines = (rest + chunk.data).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    await _send(answer, "line", line.decode(errors="replace"))
        except grpc.aio.AioRpcError as err:
            await _send(answer, "failed", str(rpc_error(err)))
        finally:
            call.cancel()
    return answer
