"""An error answer is written down (audit line, request count) before gRPC
sends it: grpc.aio sends the status inside ``context.abort``, so what an
interceptor records in a ``finally`` would come after the caller had the
answer (and had perhaps read the audit log already). A fake servicer
context marks the moment the status goes out."""

from __future__ import annotations

import contextlib
from typing import Any

import grpc
from shoal import auth, metrics
from shoal.api.v1 import api_pb2
from shoal.apiserver import instrumentation
from shoal.apiserver.authz import Decision
from shoal.apiserver.authz_interceptor import AuthorizationInterceptor
from shoal.apiserver.handlers import rewrap

GET = "/shoal.v1.Objects/Get"


class SentContext:
    """A servicer context that notes in ``timeline`` when a status is sent."""

    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline
        self._code: grpc.StatusCode | None = None

    async def abort(self, code: grpc.StatusCode, details: str = "", *rest: Any) -> None:
        self._code = code
        self.timeline.append(f"sent {code.name}")
        raise grpc.aio.AbortError(details)

    def code(self) -> grpc.StatusCode | None:
        return self._code


async def not_found(request: Any, context: Any) -> Any:
    await context.abort(grpc.StatusCode.NOT_FOUND, 'pods "missing" not found')


class Handler:
    unary_unary = staticmethod(not_found)
    unary_stream = stream_unary = stream_stream = None
    request_deserializer = response_serializer = None


class Details:
    method = GET
    invocation_metadata = ()


class Allow:
    async def authorize(self, attrs: Any) -> Decision:
        return Decision(True)


class Audit:
    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline

    def record(self, attrs: Any, code: str, reason: str = "", method: str = "") -> None:
        self.timeline.append(f"audited {code}")


async def call(interceptor: grpc.aio.ServerInterceptor, context: SentContext) -> None:
    async def continuation(details: Any) -> Any:
        return rewrap(Handler(), lambda kind, behavior: behavior)

    handler = await interceptor.intercept_service(continuation, Details())
    request = api_pb2.GetRequest(key=api_pb2.ObjectKey(kind="pods", name="missing"))
    with contextlib.suppress(grpc.aio.AbortError):
        await handler.unary_unary(request, context)


async def test_an_error_answer_is_audited_before_it_is_sent() -> None:
    timeline: list[str] = []
    interceptor = AuthorizationInterceptor(Allow(), Audit(timeline), auth.INSECURE_ADMIN)
    await call(interceptor, SentContext(timeline))
    assert timeline == ["audited NOT_FOUND", "sent NOT_FOUND"]


def not_found_gets() -> float:
    labels = dict(
        verb="GET", group="", version="v1", resource="pods", subresource="",
        scope="resource", component="apiserver", code="404",
    )  # fmt: skip
    return metrics.REGISTRY.get_sample_value("apiserver_request_total", labels) or 0.0


async def test_an_error_answer_is_counted_before_it_is_sent() -> None:
    timeline: list[str] = []
    before = not_found_gets()

    class Watched(SentContext):
        async def abort(self, code: grpc.StatusCode, details: str = "", *rest: Any) -> None:
            self.timeline.append(f"counted {not_found_gets() - before:.0f}")
            await super().abort(code, details, *rest)

    await call(instrumentation.MetricsInterceptor(), Watched(timeline))
    assert timeline == ["counted 1", "sent NOT_FOUND"]
    assert not_found_gets() - before == 1  # once, not again when the call unwinds
