"""Watch lists (Kubernetes' ``sendInitialEvents``, KEP 3157): a watch that
first sends the current objects as ADDED and then, when the client allows
bookmarks, a BOOKMARK annotated ``k8s.io/initial-events-end: "true"`` at the
version those objects were read at, so the client knows its cache is whole
without a separate list; ``sendInitialEvents=false`` starts at the current
version with no initial events. Both need ``resourceVersionMatch=
NotOlderThan``: ``resourceVersion`` is then the oldest state acceptable
(504 "Too large resource version" when the store has not reached it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from shoal import errors
from shoal.apiserver.lists import parse_resource_version, too_large
from shoal.client import Client, WatchEvent
from shoal.plugins.gateway.paths import Target
from shoal.plugins.gateway.status import bad_request

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
_TRUE, _FALSE = ("1", "t", "T", "TRUE", "true", "True"), ("0", "f", "F", "FALSE", "false", "False")


@dataclass(frozen=True)
class Selection:
    label_selector: str
    field_selector: str
    allow_bookmarks: bool


def send_initial_events(request: web.Request) -> bool | None:
    """The request's ``sendInitialEvents`` (None: not given), after
    Kubernetes' validateWatchOptions."""
    q = request.query
    text, match = q.get("sendInitialEvents"), q.get("resourceVersionMatch", "")
    if text is not None and text not in _TRUE + _FALSE:
        raise bad_request(f'sendInitialEvents: invalid value "{text[:64]}", expected a boolean')
    send = None if text is None else text in _TRUE
    causes: list[tuple[str, str]] = []
    if send is not None and match != "NotOlderThan":
        causes.append(("resourceVersionMatch", f"Forbidden: {_NEEDS_NOT_OLDER}"))
    if match:
        if send is None:
            causes.append(("resourceVersionMatch", f"Forbidden: {_MATCH_NEEDS_SEND}"))
        if match != "NotOlderThan":
            unsupported = f'Unsupported value: "{match[:64]}": supported values: "NotOlderThan"'
            causes.append(("resourceVersionMatch", unsupported))
        if q.get("continue"):
            causes.append(("resourceVersionMatch", f"Forbidden: {MATCH_WITH_CONTINUE}"))
    if causes:
        raise errors.invalid("ListOptions", "", causes, "meta.k8s.io")
    return send


_NEEDS_NOT_OLDER = "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
_MATCH_NEEDS_SEND = (
    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
)
MATCH_WITH_CONTINUE = "resourceVersionMatch is forbidden when continue is provided"


async def watch_list(
    client: Client, target: Target, selection: Selection, version: str, *, send: bool
) -> AsyncIterator[WatchEvent]:
    """The initial events (when ``send``), their end bookmark, then every
    change after the version they were read at."""
    wanted = parse_resource_version(version)  # a malformed one is a 400
    listed = await client.list(
        target.kind,
        target.namespace,
        label_selector=selection.label_selector,
        field_selector=selection.field_selector,
        limit=0 if send else 1,
    )
    current = int(listed.resource_version or 0)
    if wanted > current:
        raise too_large(wanted, current)
    if send:
        for obj in listed.items:
            yield WatchEvent("ADDED", obj, obj.metadata.resource_version)
        if selection.allow_bookmarks:
            yield WatchEvent("BOOKMARK", INITIAL_EVENTS_END, listed.resource_version)
    events = client.watch(
        target.kind,
        target.namespace,
        label_selector=selection.label_selector,
        field_selector=selection.field_selector,
        resource_version=listed.resource_version,
        allow_bookmarks=selection.allow_bookmarks,
    )
    try:
        async for event in events:
            yield event
    finally:
        await events.aclose()  # type: ignore[attr-defined]
