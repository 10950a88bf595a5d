"""gRPC server reflection under both of its names.

grpcio-reflection ships ``grpc.reflection.v1alpha.ServerReflection`` only,
while newer tools (grpcurl, Postman, grpc-js' reflection clients) ask for
``grpc.reflection.v1.ServerReflection`` first. The two protocols differ in
their package name alone (the messages are the same field for field), so
one servicer answers both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1ALPHA = reflection.SERVICE_NAME
V1 = "grpc.reflection.v1.ServerReflection"


def enable_reflection(service_names: Iterable[str], server: Any) -> None:
    """Serve reflection v1 and v1alpha, listing ``service_names`` and themselves."""
    names = (*service_names, V1ALPHA, V1)
    servicer = reflection.aio.ReflectionServicer(names)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": handler})
            for name in (V1ALPHA, V1)
        ]
    )
