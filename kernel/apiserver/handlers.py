"""Rewrapping a gRPC method handler: the interceptors (authentication,
authorization, metrics) each put their own behaviour around a method's,
keeping its kind (unary or streaming, each way) and its serializers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

MAKERS: dict[str, Callable[..., Any]] = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}


def rewrap(handler: Any, wrap: Callable[[str, Any], Any]) -> Any:
    """``handler`` with its behaviour replaced by ``wrap(kind, behaviour)``,
    ``kind`` one of :data:`MAKERS`' keys (``"unary_stream"``...)."""
    for kind, make in MAKERS.items():
        behavior = getattr(handler, kind)
        if behavior is not None:
            return make(
                wrap(kind, behavior),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler
