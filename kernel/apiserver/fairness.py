"""Per-user fairness, in the spirit of Kubernetes' API Priority and Fairness:
each user has at most ``max_inflight`` requests being served at once; more
wait briefly in that user's own queue, and past ``queue_length`` waiters or
``queue_wait`` seconds they are refused with 429 / RESOURCE_EXHAUSTED and a
retry hint. One user's flood then fills only that user's queue, never
another's.

Levels, as APF's priority levels: ``system:masters`` (the admin, the control
plane in the server) is exempt, so the control plane never starves;
``system:nodes`` (agents) get ``node_factor`` times the share; everyone else
one share per user. Long-running requests (watches, log/exec streams) are
not counted, as APF does not count them."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from shoal import auth, errors
from shoal.apiserver.handlers import HandlerInterceptor, WrappedHandlers

NODES_GROUP = "system:nodes"
SEAT_BYTES = 64 * 1024  # a request takes one more seat per this much body
MAX_GROUP_SETS = 1024  # shares remembered per set of groups


@dataclass(frozen=True)
class RequestLimits:
    """The boundary's limits, flags of ``shoal server`` (docs/security.md)."""

    max_inflight_per_user: int = 16  # 0: no per-user limit
    queue_length_per_user: int = 64
    queue_wait_seconds: float = 2.0
    node_factor: int = 4
    max_request_bytes: int = 3 * 1024 * 1024
    exempt_groups: tuple[str, ...] = field(default=(auth.ADMIN_GROUP,))

    @property
    def enabled(self) -> bool:
        return self.max_inflight_per_user > 0


class _Queue:
    """One user's seats in use and waiters (each with the seats it needs)."""

    __slots__ = ("inflight", "waiters")

    def __init__(self) -> None:
        self.inflight = 0
        self.waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()


class FairQueues:
    """Seats per user. ``async with queues.seat(user, width):`` around a
    request; ``width`` is how many seats it takes (a large body takes more,
    as APF gives a wide LIST more), at most the user's whole share."""

    def __init__(self, limits: RequestLimits | None = None) -> None:
        self.limits = limits or RequestLimits()
        self._queues: dict[str, _Queue] = {}
        self._shares: dict[tuple[str, ...], int] = {}  # groups -> seats (few distinct sets)
        self.rejected = 0

    def share(self, user: auth.UserInfo) -> int:
        """Seats of ``user``: 0 for the exempt (known per set of groups)."""
        known = self._shares.get(user.groups)
        if known is None:
            if len(self._shares) >= MAX_GROUP_SETS:
                self._shares.clear()
            known = self._shares[user.groups] = self._share_of(user.groups)
        return known

    def _share_of(self, groups: tuple[str, ...]) -> int:
        limits = self.limits
        if not limits.enabled or any(g in limits.exempt_groups for g in groups):
            return 0
        factor = limits.node_factor if NODES_GROUP in groups else 1
        return limits.max_inflight_per_user * factor

    def width(self, body_bytes: int) -> int:
        """Seats for a request with a body of ``body_bytes``: one, and one
        more per ``SEAT_BYTES``, so a flood of large bodies runs few at once."""
        return 1 + max(body_bytes, 0) // SEAT_BYTES

    @contextlib.asynccontextmanager
    async def seat(self, user: auth.UserInfo, width: int = 1) -> AsyncIterator[None]:
        share = self.share(user)
        if share == 0:
            yield
            return
        width = min(max(width, 1), share)
        queue = self._queues.setdefault(user.name, _Queue())
        await self._take(queue, share, width, user.name)
        try:
            yield
        finally:
            queue.inflight -= width
            self._admit(queue, share, user.name)

    async def _take(self, queue: _Queue, share: int, width: int, name: str) -> None:
        if not queue.waiters and queue.inflight + width <= share:
            queue.inflight += width
            return
        if len(queue.waiters) >= self.limits.queue_length_per_user:
            raise self._refuse(name)
        waiter = asyncio.get_running_loop().create_future()
        entry = (width, waiter)
        queue.waiters.append(entry)
        try:
            # _admit counts the seats in when it wakes this waiter.
            await asyncio.wait_for(asyncio.shield(waiter), self.limits.queue_wait_seconds)
        except (TimeoutError, asyncio.CancelledError) as err:
            if waiter.done() and not waiter.cancelled():  # admitted just now
                if isinstance(err, TimeoutError):
                    return
                queue.inflight -= width
                self._admit(queue, share, name)
                raise
            waiter.cancel()
            with contextlib.suppress(ValueError):
                queue.waiters.remove(entry)
            self._admit(queue, share, name)  # a wide waiter leaving may unblock others
            if isinstance(err, TimeoutError):
                raise self._refuse(name) from None
            raise

    def _admit(self, queue: _Queue, share: int, name: str) -> None:
        """Wake waiters, first come first served, while their seats are free."""
        while queue.waiters and queue.inflight + queue.waiters[0][0] <= share:
            width, waiter = queue.waiters.popleft()
            if not waiter.done():
                queue.inflight += width
                waiter.set_result(None)
        if queue.inflight == 0 and not queue.waiters:
            self._queues.pop(name, None)

    def _refuse(self, name: str) -> errors.TooManyRequestsError:
        self.rejected += 1
        retry = max(1, round(self.limits.queue_wait_seconds))
        return errors.TooManyRequestsError(
            f'Too many requests from user "{name}": more than '
            f"{self.limits.max_inflight_per_user} at once and its queue is full; "
            f"please try again later",
            retry_after_seconds=retry,
        )


class FairnessInterceptor(HandlerInterceptor):
    """Seats every unary RPC of an authenticated user (after authentication,
    before authorization, as APF sits in Kubernetes' filter chain); a
    refusal is RESOURCE_EXHAUSTED with ``shoal-retry-after`` seconds."""

    def __init__(self, queues: FairQueues, public: tuple[str, ...] = ()) -> None:
        self.queues, self.public = queues, public
        self._wrapped = WrappedHandlers()

    def intercept_handler(self, handler: Any, details: Any) -> Any:
        if (
            handler is None
            or handler.unary_unary is None  # streams are long-running: not counted
            or details.method.startswith(self.public)
            or not self.queues.limits.enabled
        ):
            return handler
        return self._wrapped.get(
            details.method,
            handler,
            lambda: grpc.unary_unary_rpc_method_handler(
                self._seated(handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            ),
        )

    def _seated(self, behavior: Any) -> Any:
        queues = self.queues

        async def call(request: Any, context: Any) -> Any:
            user = auth.current_user() or auth.INSECURE_ADMIN
            if queues.share(user) == 0:  # exempt: no seat to take
                result = behavior(request, context)
                return await result if inspect.isawaitable(result) else result
            size = request.ByteSize() if hasattr(request, "ByteSize") else 0
            try:
                async with queues.seat(user, queues.width(size)):
                    result = behavior(request, context)
                    return await result if inspect.isawaitable(result) else result
            except errors.TooManyRequestsError as err:
                await context.abort(err.code, err.message, errors.trailing_metadata(err))

        return call
