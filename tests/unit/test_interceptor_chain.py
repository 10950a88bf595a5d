"""The API server's interceptors run as one chain (one await per call, not
one per interceptor): the handler each call gets is the one grpc aio's own
nesting of the same interceptors gives, wrapped in the same order, and a
method no service has stays without a handler."""

from __future__ import annotations

from typing import Any

import grpc
from shoal.apiserver.handlers import HandlerInterceptor, InterceptorChain, rewrap


class Tagging(HandlerInterceptor):
    """Puts its name around the behaviour: what runs first is outermost."""

    def __init__(self, name: str) -> None:
        self.name = name

    def intercept_handler(self, handler: Any, details: Any) -> Any:
        if handler is None or details.method.endswith("/Public"):
            return handler
        return rewrap(handler, lambda kind, behavior: self._around(behavior))

    def _around(self, behavior: Any) -> Any:
        async def call(request: list[str], context: Any) -> list[str]:
            return await behavior([*request, self.name], context)

        return call


class Details:
    def __init__(self, method: str) -> None:
        self.method, self.invocation_metadata = method, ()


async def _service(request: list[str], context: Any) -> list[str]:
    return [*request, "service"]


def _lookup(details: Any) -> Any:
    if details.method.endswith("/Missing"):
        return None
    return grpc.unary_unary_rpc_method_handler(_service)


async def _nested(interceptors: list[HandlerInterceptor], details: Any) -> Any:
    """As grpc aio runs a server's interceptors: outermost first, each
    awaiting the next."""

    async def innermost(call: Any) -> Any:
        return _lookup(call)

    continuation: Any = innermost
    for interceptor in reversed(interceptors):
        continuation = _bound(interceptor, continuation)
    return await continuation(details)


def _bound(interceptor: HandlerInterceptor, continuation: Any) -> Any:
    return lambda details: interceptor.intercept_service(continuation, details)


async def test_the_chain_wraps_as_grpc_nests() -> None:
    interceptors = [Tagging("metrics"), Tagging("authn"), Tagging("authz")]
    chain = InterceptorChain(interceptors)
    for method in ("/shoal.api.v1.Objects/Create", "/shoal.api.v1.Discovery/Public"):
        details = Details(method)
        nested = await _nested(interceptors, details)
        chained = chain.intercept_handler(_lookup(details), details)
        via_grpc = await chain.intercept_service(lambda d: _async(_lookup(d)), details)
        answers = [await h.unary_unary([], None) for h in (nested, chained, via_grpc)]
        assert answers[0] == answers[1] == answers[2]
    assert answers[0] == ["service"]  # the public method: nobody wrapped it
    details = Details("/shoal.api.v1.Objects/Create")
    assert await chain.intercept_handler(_lookup(details), details).unary_unary([], None) == [
        "metrics",
        "authn",
        "authz",
        "service",
    ]
    missing = Details("/shoal.api.v1.Objects/Missing")
    assert chain.intercept_handler(_lookup(missing), missing) is None


async def _async(value: Any) -> Any:
    return value
