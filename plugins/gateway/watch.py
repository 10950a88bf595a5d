"""``?watch=true``: a chunked stream of JSON lines, one ``{"type", "object"}``
per change, as the Kubernetes API server sends them. A version that was
compacted away ends the stream with an ERROR event holding a 410 Status."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from shoal import errors
from shoal.client import Client, WatchEvent
from shoal.plugins.gateway import bodies, table, watchlist
from shoal.plugins.gateway.paths import Target
from shoal.plugins.gateway.status import bad_request, from_api_error

FIRST_EVENT_WAIT = 0.2  # seconds a watch waits for an early error before it answers 200


def is_watch(request: web.Request) -> bool:
    return request.query.get("watch", "").lower() in ("true", "1")


def _timeout(request: web.Request) -> float | None:
    text = request.query.get("timeoutSeconds", "")
    if not text:
        return None
    try:
        seconds = int(text)  # an integer, as Kubernetes parses it
    except ValueError:
        raise bad_request(
            f'timeoutSeconds: Invalid value: "{text[:64]}": must be an integer'
        ) from None
    return float(min(max(seconds, 0), 2**31))


class Watches:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        q = request.query
        timeout = _timeout(request)  # a bad value is a 400 before any stream starts
        field_selector = q.get("fieldSelector", "")
        if target.name:  # a watch on one object: GET .../pods/NAME?watch=true
            field_selector = ",".join(
                filter(None, [field_selector, f"metadata.name={target.name}"])
            )
        send = watchlist.send_initial_events(request)
        selection = watchlist.Selection(
            label_selector=q.get("labelSelector", ""),
            field_selector=field_selector,
            allow_bookmarks=q.get("allowWatchBookmarks", "").lower() == "true",
        )
        version = q.get("resourceVersion", "")
        if send is not None:
            events = watchlist.watch_list(self.client, target, selection, version, send=send)
        else:
            events = self.client.watch(
                target.kind,
                target.namespace,
                label_selector=selection.label_selector,
                field_selector=selection.field_selector,
                resource_version="" if version == "0" else version,
                allow_bookmarks=selection.allow_bookmarks,
            )
        encode = _encoder(request, target)
        first = asyncio.ensure_future(anext(events))
        # A bad selector fails at once: answer it as a plain Status, not a stream.
        await asyncio.wait({first}, timeout=FIRST_EVENT_WAIT)
        if first.done() and isinstance(
            first.exception(),
            errors.BadRequestError | errors.InvalidError | errors.ServerTimeoutError,
        ):
            raise first.exception()  # type: ignore[misc]
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(asyncio.TimeoutError, ConnectionResetError):
            await asyncio.wait_for(_pump(first, events, encode, response), timeout)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response


async def _pump(
    first: asyncio.Future[WatchEvent],
    events: AsyncIterator[WatchEvent],
    encode: Any,
    response: web.StreamResponse,
) -> None:
    try:
        await response.write(encode(await first))
        async for event in events:
            await response.write(encode(event))
    except StopAsyncIteration:
        pass
    except errors.APIError as err:  # expired (410) and friends end the stream, as in Kubernetes
        line = {"type": "ERROR", "object": from_api_error(err)}
        await response.write(json.dumps(line).encode() + b"\n")
    finally:
        first.cancel()
        await events.aclose()  # type: ignore[attr-defined]


def _encoder(request: web.Request, target: Target) -> Any:
    as_table = table.wants_table(request.headers.get("Accept", ""))
    include = request.query.get("includeObject", "Metadata")
    kind = target.kind

    def encode(event: WatchEvent) -> bytes:
        if event.type == "BOOKMARK":
            obj: dict[str, Any] = {
                "kind": kind.kind,
                "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": event.resource_version},
            }
            if event.object == watchlist.INITIAL_EVENTS_END:
                obj["metadata"]["annotations"] = {watchlist.INITIAL_EVENTS_END: "true"}
        else:
            obj = bodies.to_json(event.object)
            # an object stored through another served version of its kind
            # (a CRD's) is seen through the version watched
            obj["apiVersion"] = kind.api_version
            if as_table:
                obj = table.watch_table(table.table_for(kind), obj, include)
        return (
            json.dumps({"type": event.type, "object": obj}, separators=(",", ":")).encode() + b"\n"
        )

    return encode
