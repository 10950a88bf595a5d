"""An interceptor's wrapped handler is made once per method and kept while
the handler it wraps is the same object; a different inner handler (a
service added again) gets a new wrapper."""

from __future__ import annotations

import grpc
from shoal.apiserver.handlers import WrappedHandlers


def handler(answer: str) -> grpc.RpcMethodHandler:
    async def call(request: object, context: object) -> str:
        return answer

    return grpc.unary_unary_rpc_method_handler(call)


def test_a_method_is_wrapped_once_per_inner_handler() -> None:
    wrapped, made = WrappedHandlers(), []

    def make(inner: grpc.RpcMethodHandler) -> object:
        made.append(inner)
        return object()

    inner = handler("a")
    first = wrapped.get("/svc/Get", inner, lambda: make(inner))
    assert wrapped.get("/svc/Get", inner, lambda: make(inner)) is first
    assert len(made) == 1
    other = handler("b")
    assert wrapped.get("/svc/Get", other, lambda: make(other)) is not first
    assert wrapped.get("/svc/List", inner, lambda: make(inner)) is not first
    assert len(made) == 3


def test_the_kept_wrappers_are_bounded() -> None:
    wrapped = WrappedHandlers(limit=2)
    inner = handler("a")
    kept = wrapped.get("/svc/A", inner, object)
    wrapped.get("/svc/B", inner, object)
    wrapped.get("/svc/C", inner, object)  # past the limit: the kept ones go
    assert wrapped.get("/svc/A", inner, object) is not kept
