"""Authorization in the request path: one gRPC interceptor, after
authentication, for every service. It reads what the call asks
(``requestinfo``), asks the authorizer, and refuses with PERMISSION_DENIED
before the handler runs — so a refusal changes nothing — and writes one
audit line per call with its answer.

Streams whose target is in their first message (exec, port-forward, image
loads) are authorized on that message, before it reaches the handler."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import grpc
from shoal import auth, errors
from shoal.apiserver import requestinfo
from shoal.apiserver.audit import AuditSink
from shoal.apiserver.authz import Attributes, Authorizer, forbidden, is_authenticated
from shoal.apiserver.handlers import AnswerHook, HandlerInterceptor, WrappedHandlers, rewrap

OBJECTS = "/shoal.v1.Objects/"
STREAMS = "/shoal.v1.Streams/"
METRICS = "/shoal.v1.Metrics/"
# Open to anyone: health probes.
PUBLIC = ("/grpc.health.v1.Health/", "/shoal.v1.Discovery/Version")
# Open to every authenticated user: discovery, reflection, access reviews.
AUTHENTICATED = (
    "/shoal.v1.Discovery/",
    "/grpc.reflection.",
    "/shoal.v1.Authorization/",
)
# Services that check their caller themselves (joining, token issuing).
SELF_CHECKED = ("/shoal.v1.Certificates/", "/shoal.v1.Tokens/")
FIRST_MESSAGE = ("Exec", "Attach", "PortForward", "LoadImage")


def current_user(default: auth.UserInfo) -> auth.UserInfo:
    """The authenticated user; ``default`` when no authentication ran (an
    in-process server built without security serves as the insecure admin)."""
    return auth.current_user() or default


class AuthorizationInterceptor(HandlerInterceptor):
    def __init__(
        self,
        authorizer: Authorizer,
        audit: AuditSink | None = None,
        default_user: auth.UserInfo = auth.INSECURE_ADMIN,
    ) -> None:
        self.authorizer = authorizer
        self.audit = audit
        self.default_user = default_user
        self._wrapped = WrappedHandlers()

    def intercept_handler(self, handler: Any, details: Any) -> Any:
        method = details.method
        if handler is None or method.startswith(PUBLIC + SELF_CHECKED):
            return handler
        return self._wrapped.get(method, handler, lambda: _wrap(handler, _Check(self, method)))


class _Check:
    """The checks of one method: attributes, decision, audit line."""

    def __init__(self, owner: AuthorizationInterceptor, method: str) -> None:
        self.owner, self.method = owner, method
        self.short = method.rsplit("/", 1)[-1]

    def attributes(self, user: auth.UserInfo, request: Any) -> Attributes:
        if self.method.startswith(OBJECTS):
            return requestinfo.object_attributes(user, self.short, request)
        if self.method.startswith(STREAMS):
            return requestinfo.stream_attributes(user, self.short, request)
        if self.method.startswith(METRICS) and self.short in requestinfo.METRICS_ATTRIBUTES:
            return requestinfo.metrics_attributes(user, self.short, request)
        return Attributes(user, "get", path=self.method, resource_request=False)

    async def admit(self, request: Any, context: Any) -> Attributes | None:
        """Authorize the call; aborts (and audits) a refusal."""
        user = current_user(self.owner.default_user)
        if self.method.startswith(AUTHENTICATED):
            if is_authenticated(user):
                return None
            await self._refuse(
                context, Attributes(user, "get", path=self.method, resource_request=False), ""
            )
        try:
            attrs = self.attributes(user, request)
        except errors.APIError as err:
            await context.abort(err.code, err.message, errors.trailing_metadata(err))
            raise
        decision = await self.owner.authorizer.authorize(attrs)
        if not decision.allowed:
            await self._refuse(context, attrs, decision.reason)
        return attrs

    async def _refuse(self, context: Any, attrs: Attributes, reason: str) -> None:
        self.record(attrs, "PERMISSION_DENIED", reason)
        err = forbidden(attrs, reason)
        await context.abort(err.code, err.message, errors.trailing_metadata(err))

    def record(self, attrs: Attributes | None, code: str, reason: str = "") -> None:
        if attrs is not None and self.owner.audit is not None:
            self.owner.audit.record(attrs, code, reason, self.method)

    def answering(self, attrs: Attributes | None, context: Any) -> AnswerHook:
        """The context the handler gets: an error it answers is audited
        before the caller has it (a reader sees what was answered)."""
        return AnswerHook(context, lambda code: self.record(attrs, _code_name(code)))

    def finish(self, attrs: Attributes | None, context: AnswerHook) -> None:
        """Audit a call the handler ended without aborting (before gRPC
        sends its answer, which follows the return)."""
        if not context.aborted:
            self.record(attrs, _code_name(context.code() or grpc.StatusCode.OK))


def _code_name(code: Any) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


def _wrap(handler: Any, check: _Check) -> Any:
    def wrap(kind: str, behavior: Any) -> Any:
        streaming_in, streaming_out = kind.startswith("stream"), kind.endswith("stream")
        return (_streaming if streaming_out else _unary)(behavior, check, streaming_in)

    return rewrap(handler, wrap)


async def _first_message(requests: Any) -> tuple[Any, AsyncIterator[Any]]:
    """The first message, and an iterator that yields it again, then the rest."""
    iterator = aiter(requests)
    try:
        first = await anext(iterator)
    except StopAsyncIteration:
        return None, iterator

    async def replay() -> AsyncIterator[Any]:
        yield first
        async for item in iterator:
            yield item

    return first, replay()


async def _admit(
    check: _Check, request: Any, context: Any, streaming_in: bool
) -> tuple[Attributes | None, Any]:
    if not streaming_in:
        return await check.admit(request, context), request
    first, replay = await _first_message(request)
    if first is None:  # nothing asked: the handler answers its own error
        return None, replay
    return await check.admit(first, context), replay


def _unary(behavior: Any, check: _Check, streaming_in: bool) -> Any:
    async def call(request: Any, context: Any) -> Any:
        attrs, request = await _admit(check, request, context, streaming_in)
        answering = check.answering(attrs, context)
        try:
            result = behavior(request, answering)
            return await result if inspect.isawaitable(result) else result
        finally:
            check.finish(attrs, answering)

    return call


def _streaming(behavior: Any, check: _Check, streaming_in: bool) -> Any:
    async def call(request: Any, context: Any) -> AsyncIterator[Any]:
        attrs, request = await _admit(check, request, context, streaming_in)
        answering = check.answering(attrs, context)
        try:
            async for item in behavior(request, answering):
                yield item
        finally:
            check.finish(attrs, answering)

    return call
