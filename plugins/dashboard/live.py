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
from shoal import errors, kinds, manifest
from shoal.api.v1 import streams_pb2 as s
from shoal.api.v1 import streams_pb2_grpc
from shoal.client import Client
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


MAX_TABLES = 20


def _tables(request: web.Request) -> list[tuple[kinds.Kind, str]]:
    wanted = request.query.getall("table", [])
    if not wanted or len(wanted) > MAX_TABLES:
        raise Refused(f"table: 1 to {MAX_TABLES} of KIND@RESOURCEVERSION are required")
    tables = []
    for item in wanted:
        resource, _, rv = item.partition("@")
        kind = views.find_kind(resource)
        if rv and not rv.isdigit():
            raise Refused(f'table: "{rv[:40]}" is not a resource version')
        tables.append((kind, rv))
    return tables


async def watch(request: web.Request) -> web.StreamResponse:
    """``/watch?ns=default&table=pods@N&table=deployments.apps@M``: one
    stream for all of a page's tables (a browser opens at most six
    connections to a host), ``row`` events (``table``, ``type``, ``key``,
    ``html``) from each table's resource version on; ``relist`` when one
    was compacted away (the page loads again)."""
    client = request.app[pages.CLIENT_KEY]
    ns = pages.namespace_param(request)
    tables = _tables(request)
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=10_000)
    tasks = [asyncio.create_task(_follow(client, kind, ns, rv, queue)) for kind, rv in tables]
    try:
        try:  # refusals (403) answer as errors, not as streams
            item = await asyncio.wait_for(queue.get(), 0.2)
        except TimeoutError:
            item = None
        if isinstance(item, errors.APIError) and not isinstance(item, errors.GoneError):
            raise item
        answer = await _open(request)
        with contextlib.suppress(ConnectionResetError):
            await _relay(answer, queue, item)
        return answer
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _relay(answer: web.StreamResponse, queue: asyncio.Queue[Any], item: Any) -> None:
    while True:
        if item is None:
            try:
                item = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                await answer.write(b": alive\n\n")
                continue
        if isinstance(item, errors.GoneError):
            await _send(answer, "relist", {})
            return
        if isinstance(item, errors.APIError):
            await _send(answer, "failed", item.message)
            return
        await _send(answer, "row", item)
        item = None


async def _follow(
    client: Client, kind: kinds.Kind, ns: str, rv: str, queue: asyncio.Queue[Any]
) -> None:
    """One table's watch, as rows (or the error that ended it) on ``queue``."""
    scope = "" if ns == pages.ALL or not kind.namespaced else ns
    all_ns = not scope and kind.namespaced
    usage: dict[str, Any] = {}
    try:
        async for event in client.watch(kind, scope, resource_version=rv):
            if event.object is None or event.type == "BOOKMARK":
                continue
            obj = manifest.to_dict(event.object)
            meta = obj.get("metadata") or {}
            if views.is_node(kind):
                usage = await views.node_usage(client)
            row = views.cells(kind, obj, all_ns, usage)
            key = f"{meta.get('namespace', '') if all_ns else ''}/{meta.get('name', '')}"
            html = views.render_row(kind, row, all_ns)
            await queue.put({"table": kind.resource, "type": event.type, "key": key, "html": html})
    except errors.APIError as err:
        await queue.put(err)


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
