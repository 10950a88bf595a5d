"""A request message that does not parse is the caller's mistake:
INVALID_ARGUMENT naming the method, never the UNKNOWN that gRPC answers
when a deserializer raises. One interceptor, after authentication (a
stranger's bytes are refused as a stranger first), gives every service's
unary-request methods a deserializer that cannot raise, and refuses what
it could not read before anything else sees it."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from shoal import errors
from shoal.apiserver.handlers import HandlerInterceptor, WrappedHandlers


class Malformed:
    """What the lenient deserializer hands on in place of a message."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error


def lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def read(data: bytes) -> Any:
        try:
            return deserializer(data)
        except (DecodeError, ValueError, RecursionError) as err:
            return Malformed(str(err) or type(err).__name__)

    return read


def _refusal(method: str, request: Malformed) -> errors.BadRequestError:
    return errors.BadRequestError(
        f"the request to {method} is not a valid protobuf message: {request.error}"
    )


class MalformedRequestInterceptor(HandlerInterceptor):
    def __init__(self) -> None:
        self._wrapped = WrappedHandlers()

    def intercept_handler(self, handler: Any, details: Any) -> Any:
        if handler is None:
            return handler
        method = details.method
        return self._wrapped.get(method, handler, lambda: _wrap(handler, method))


def _wrap(handler: Any, method: str) -> Any:
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            _unary(handler.unary_unary, method),
            request_deserializer=lenient(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _streaming(handler.unary_stream, method),
            request_deserializer=lenient(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
    return handler


def _unary(behavior: Any, method: str) -> Any:
    async def call(request: Any, context: Any) -> Any:
        if isinstance(request, Malformed):
            err = _refusal(method, request)
            await context.abort(err.code, err.message, errors.trailing_metadata(err))
        result = behavior(request, context)
        return await result if inspect.isawaitable(result) else result

    return call


def _streaming(behavior: Any, method: str) -> Any:
    async def call(request: Any, context: Any) -> AsyncIterator[Any]:
        if isinstance(request, Malformed):
            err = _refusal(method, request)
            await context.abort(err.code, err.message, errors.trailing_metadata(err))
        result = behavior(request, context)
        if hasattr(result, "__aiter__"):
            async for item in result:
                yield item
        elif inspect.isawaitable(result):
            await result

    return call
