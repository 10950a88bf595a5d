"""The agent's side of logs, exec, attach, port-forward and images: a small gRPC
server (the ``Streams`` service of streams.proto) on the node, which the API
server relays to. One server serves every node of the process (hollow nodes
included); requests name their node.

``StreamBackend`` is the logic (find the container, call the runtime);
``AgentStreams`` only adapts it to gRPC.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import grpc
from shoal import auth, errors
from shoal.agent.resourcestats import node_summary
from shoal.api.v1 import streams_pb2, streams_pb2_grpc
from shoal.runtime import LABEL_CONTAINER_NAME, LABEL_POD_UID, Runtime, RuntimeFailure


class NodeHandle(Protocol):
    runtime: Runtime
    data_dir: Path

    def pod(self, namespace: str, name: str) -> Any | None: ...


NodeLookup = Callable[[str], NodeHandle | None]


class StreamBackend:
    def __init__(self, nodes: NodeLookup) -> None:
        self.nodes = nodes

    def node(self, name: str) -> NodeHandle:
        handle = self.nodes(name)
        if handle is None:
            raise errors.NotFoundError(f'node "{name}" is not served by this agent')
        return handle

    def _pod(self, ref: streams_pb2.ContainerRef) -> tuple[NodeHandle, Any]:
        handle = self.node(ref.node)
        pod = handle.pod(ref.namespace, ref.pod)
        if pod is None:
            raise errors.NotFoundError(f'pods "{ref.pod}" not found on node "{ref.node}"')
        return handle, pod

    async def container_id(self, ref: streams_pb2.ContainerRef, previous: bool = False) -> str:
        handle, pod = self._pod(ref)
        name = ref.container or (pod.spec.containers[0].name if pod.spec.containers else "")
        uid = pod.metadata.uid
        runs = sorted(
            (
                c
                for c in await handle.runtime.list_containers()
                if c.labels.get(LABEL_POD_UID) == uid
                and c.labels.get(LABEL_CONTAINER_NAME, c.name) == name
            ),
            key=lambda c: (c.attempt, c.created_at),
        )
        if previous:
            if len(runs) < 2:
                raise errors.BadRequestError(
                    f'previous terminated container "{name}" in pod "{ref.pod}" not found'
                )
            return runs[-2].id
        if not runs:
            raise errors.BadRequestError(
                f'container "{name}" in pod "{ref.pod}" is waiting to start'
            )
        return runs[-1].id

    async def logs(self, request: streams_pb2.LogsRequest) -> AsyncIterator[bytes]:
        runtime = self.node(request.ref.node).runtime
        container_id = await self.container_id(request.ref, request.previous)
        tail = request.tail_lines if request.HasField("tail_lines") else -1
        async for chunk in runtime.logs(
            container_id, follow=request.follow, tail=tail, timestamps=request.timestamps
        ):
            yield chunk

    async def sandbox_id(self, ref: streams_pb2.ContainerRef) -> str:
        handle, pod = self._pod(ref)
        for sandbox in await handle.runtime.list_pod_sandboxes():
            if sandbox.uid == pod.metadata.uid and sandbox.state == "ready":
                return sandbox.id
        raise errors.BadRequestError(f'pod "{ref.pod}" has no running sandbox')

    async def load_image(self, node: str, chunks: AsyncIterator[bytes]) -> list[str]:
        handle = self.node(node)
        handle.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=handle.data_dir, suffix=".tar") as tmp:
            async for data in chunks:
                tmp.write(data)
            tmp.flush()
            return await handle.runtime.load_image(tmp.name)


def _runtime_error(err: RuntimeFailure) -> errors.APIError:
    return errors.BadRequestError(str(err))


async def _abort(context: grpc.aio.ServicerContext, err: Exception) -> None:
    if isinstance(err, RuntimeFailure):
        err = _runtime_error(err)
    if not isinstance(err, errors.APIError):  # OSError: the pod's port, the disk
        err = errors.UnavailableError(str(err))
    # Always with its reason word: the relay tells the agent's own answers
    # from a failure to reach the agent by it.
    await context.abort(err.code, err.message, errors.trailing_metadata(err))


class AgentStreams(streams_pb2_grpc.StreamsServicer):
    def __init__(self, backend: StreamBackend) -> None:
        self.backend = backend

    async def Logs(self, request: Any, context: Any) -> AsyncIterator[Any]:
        try:
            async for data in self.backend.logs(request):
                yield streams_pb2.LogsChunk(data=data)
        except (errors.APIError, RuntimeFailure, OSError) as err:
            await _abort(context, err)

    async def Exec(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        async for out in self._interactive(request_iterator, context, attach=False):
            yield out

    async def Attach(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        async for out in self._interactive(request_iterator, context, attach=True):
            yield out

    async def _interactive(self, requests: Any, context: Any, attach: bool) -> AsyncIterator[Any]:
        """Exec (a new process) or attach (the main one): start the session,
        pump stdin and resizes in, stream the output out; an exec ends with
        its exit code, an attach when the process ends."""
        what = "attach" if attach else "exec"
        try:
            first = await anext(aiter(requests))
            start = first.start
            if first.WhichOneof("input") != "start":
                raise errors.BadRequestError(f"{what}: the first message must be start")
            session = await self._open(start, attach)
        except (errors.APIError, RuntimeFailure, OSError, StopAsyncIteration) as err:
            await _abort(
                context,
                err
                if not isinstance(err, StopAsyncIteration)
                else errors.BadRequestError(f"{what}: the first message must be start"),
            )
            return
        if start.tty and start.size.width:
            await session.resize(start.size.width, start.size.height)
        pump = asyncio.create_task(_exec_input(requests, session))
        try:
            async for stream, data in session.output():
                yield (
                    streams_pb2.ExecOutput(stdout=data)
                    if stream == "stdout"
                    else streams_pb2.ExecOutput(stderr=data)
                )
            # The last message, also for an attach (which ends with 0: the
            # container's exit is not the attach's failure, as Kubernetes).
            code = 0 if attach else await session.wait()
            yield streams_pb2.ExecOutput(exit_code=code)
        finally:
            pump.cancel()

    async def _open(self, start: streams_pb2.ExecStart, attach: bool) -> Any:
        container_id = await self.backend.container_id(start.ref)
        runtime = self.backend.node(start.ref.node).runtime
        if attach:
            if start.command:
                raise errors.BadRequestError("attach runs no command: leave command empty")
            return await runtime.attach(container_id, stdin=start.stdin, tty=start.tty)
        return await runtime.exec(
            container_id, list(start.command), stdin=start.stdin, tty=start.tty
        )

    async def PortForward(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        try:
            first = await anext(aiter(request_iterator))
            sandbox_id = await self.backend.sandbox_id(first.start.ref)
            runtime = self.backend.node(first.start.ref.node).runtime
            reader, writer = await runtime.port_forward(sandbox_id, first.start.port)
        except OSError as err:
            ref = first.start.ref
            message = f"error forwarding port {first.start.port} to pod {ref.pod}: {err}"
            await _abort(context, errors.UnavailableError(message))
            return
        except (errors.APIError, RuntimeFailure, StopAsyncIteration) as err:
            await _abort(
                context,
                err
                if not isinstance(err, StopAsyncIteration)
                else errors.BadRequestError("port-forward: the first message must be start"),
            )
            return
        pump = asyncio.create_task(_forward_input(request_iterator, writer))
        try:
            while data := await reader.read(65536):
                yield streams_pb2.PortForwardFrame(data=data)
            yield streams_pb2.PortForwardFrame(close=True)
            await pump
        finally:
            pump.cancel()
            writer.close()

    async def ListImages(self, request: Any, context: Any) -> Any:
        try:
            images = await self.backend.node(request.node).runtime.list_images()
        except (errors.APIError, RuntimeFailure, OSError) as err:
            await _abort(context, err)
        return streams_pb2.ListImagesResponse(
            images=[streams_pb2.Image(id=i.id, tags=i.tags, size_bytes=i.size) for i in images]
        )

    async def Summary(self, request: Any, context: Any) -> Any:
        try:
            return await node_summary(request.node, self.backend.node(request.node).runtime)
        except (errors.APIError, RuntimeFailure, OSError) as err:
            await _abort(context, err)

    async def LoadImage(self, request_iterator: Any, context: Any) -> Any:
        try:
            first = await anext(aiter(request_iterator))

            async def data() -> AsyncIterator[bytes]:
                yield first.data
                async for chunk in request_iterator:
                    yield chunk.data

            tags = await self.backend.load_image(first.node, data())
        except StopAsyncIteration:
            await _abort(context, errors.BadRequestError("load image: no data"))
        except (errors.APIError, RuntimeFailure, OSError) as err:
            await _abort(context, err)
        return streams_pb2.LoadImageResponse(tags=tags)


async def _exec_input(requests: Any, session: Any) -> None:
    async for message in requests:
        which = message.WhichOneof("input")
        if which == "stdin":
            await session.write(message.stdin)
        elif which == "close_stdin":
            await session.close_stdin()
        elif which == "resize":
            await session.resize(message.resize.width, message.resize.height)
    with contextlib.suppress(Exception):
        await session.close_stdin()


async def _forward_input(requests: Any, writer: asyncio.StreamWriter) -> None:
    async for message in requests:
        if message.WhichOneof("frame") == "data":
            writer.write(message.data)
            await writer.drain()
        elif message.WhichOneof("frame") == "close":
            break
    if writer.can_write_eof():
        writer.write_eof()


@dataclass(frozen=True)
class StreamTLS:
    """PEMs: the cluster CA, the node's certificate and key."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


# Exec into any pod of the node is as good as root on it: only the API
# server, which authorizes each request, may call.
API_SERVER_USER = "shoal-apiserver"


async def _only_api_server(context: Any, method: str) -> Any:
    names = (context.auth_context() or {}).get("x509_common_name") or []
    if [bytes(n).decode() for n in names] != [API_SERVER_USER]:
        await context.abort(
            grpc.StatusCode.PERMISSION_DENIED,
            f"only the API server ({API_SERVER_USER}) may use the agent's stream port",
        )
    return auth.UserInfo(API_SERVER_USER)


class StreamListenError(Exception):
    """The stream port cannot be had; the message is one line for a person."""


async def serve_streams(
    backend: StreamBackend, listen: str, tls: StreamTLS | None = None
) -> tuple[grpc.aio.Server, int]:
    """Start the agent's stream server; (server, bound port). With ``tls``:
    mutual TLS, a client certificate from the cluster CA required, and that
    certificate must be the API server's. Raises StreamListenError when
    ``listen`` cannot be bound (another agent on this host has the port)."""
    from shoal.apiserver.authn import AuthenticationInterceptor

    interceptors = [AuthenticationInterceptor(_only_api_server, public=())] if tls else []
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)], interceptors=interceptors)
    streams_pb2_grpc.add_StreamsServicer_to_server(AgentStreams(backend), server)
    try:
        if tls is None:
            port = server.add_insecure_port(listen)
        else:
            credentials = grpc.ssl_server_credentials(
                [(tls.key_pem, tls.cert_pem)],
                root_certificates=tls.ca_pem,
                require_client_auth=True,
            )
            port = server.add_secure_port(listen, credentials)
    except RuntimeError:  # grpc's "Failed to bind to address": say why, and what to do
        port = 0
    if port == 0:
        raise StreamListenError(
            f"cannot serve logs/exec/port-forward on {listen}: {_bind_problem(listen)} "
            "(another agent on this host?); choose another address or port with "
            "--stream-listen HOST:PORT (port 0: any free port)"
        )
    await server.start()
    return server, port


def _bind_problem(listen: str) -> str:
    """Why ``listen`` cannot be bound, in the system's words."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, int(port)))
    except (OSError, ValueError) as err:
        return getattr(err, "strerror", None) or str(err)
    return "the address cannot be bound"
