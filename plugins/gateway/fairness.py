"""Per-user fairness at the REST gateway (``shoal.apiserver.fairness``): the
gateway decodes and encodes bodies itself, on the server's event loop, so a
user's flood is held here, in that user's queue, before any of that work;
past the queue: 429 with ``Retry-After``. Watches and pod streams are
long-running and not counted, as in Kubernetes."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from shoal import auth, errors
from shoal.apiserver.authn import IMPERSONATE_GROUP, IMPERSONATE_USER
from shoal.apiserver.decoding import MAX_REQUEST_BYTES
from shoal.apiserver.fairness import FairQueues
from shoal.client import call_metadata
from shoal.plugins.gateway.status import from_api_error, response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LONG_RUNNING = re.compile(r"/pods/[^/]+/(log|exec|attach|portforward|proxy)(/|$)")


def caller() -> auth.UserInfo | None:
    """The user the gateway acts for (set by authentication), if any."""
    pairs = call_metadata.get()
    name = next((v for k, v in pairs if k == IMPERSONATE_USER), "")
    if not name:
        return None
    return auth.UserInfo(name, tuple(v for k, v in pairs if k == IMPERSONATE_GROUP))


def long_running(request: web.Request) -> bool:
    if request.query.get("watch", "").lower() in ("true", "1"):
        return True
    return LONG_RUNNING.search(request.path) is not None


def _body_bytes(request: web.Request) -> int:
    """The body's size as announced; a body of unannounced size (chunked)
    counts as the largest, so it cannot slip through as a narrow request."""
    if request.content_length is not None:
        return request.content_length
    return MAX_REQUEST_BYTES if request.body_exists else 0


def fairness(queues: FairQueues) -> Any:
    @web.middleware
    async def fair(request: web.Request, handler: Handler) -> web.StreamResponse:
        user = caller()
        if user is None or long_running(request):
            return await handler(request)
        try:
            async with queues.seat(user, queues.width(_body_bytes(request))):
                return await handler(request)
        except errors.TooManyRequestsError as err:
            return response(from_api_error(err))

    return fair
