"""The API server's side of logs, exec, attach, port-forward and images: it finds
the agent of the pod's node (the Node's InternalIP and
``daemonEndpoints.kubeletEndpoint.Port``) and relays the call there, both
ways, so clients only ever talk to the API server.

The API server resolves which container logs and exec mean (the only one,
or the ``kubectl.kubernetes.io/default-container`` annotation; attach too) so
the error for an ambiguous pod reads as kubectl's. Port-forward names no container: a
port belongs to the pod's network namespace, which its containers share.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
from shoal import errors, kinds
from shoal.api.v1 import streams_pb2, streams_pb2_grpc

DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
STREAMS = "shoal.v1.Streams"


def choose_container(pod: Any, asked: str) -> str:
    names = [c.name for c in pod.spec.containers]
    every = names + [c.name for c in pod.spec.init_containers]
    name = pod.metadata.name
    if asked:
        if asked not in every:
            raise errors.BadRequestError(f"container {asked} is not valid for pod {name}")
        return asked
    default = pod.metadata.annotations.get(DEFAULT_CONTAINER, "")
    if default in names:
        return default
    if len(names) == 1:
        return names[0]
    raise errors.BadRequestError(
        f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
    )


@dataclass(frozen=True)
class AgentLink:
    """The stream server of one node's agent, and how to name it in errors."""

    stub: streams_pb2_grpc.StreamsStub
    node: str
    target: str

    def failure(self, err: grpc.aio.AioRpcError) -> errors.APIError:
        """What the caller gets for a call to this agent that failed: the
        agent's own errors as they are, a failure to reach it (connection
        refused, a port that does not speak TLS) naming the node and its
        stream port, not the API server, as kubectl's "error dialing
        backend" does."""
        metadata = tuple(err.trailing_metadata() or ())
        details = err.details() or ""
        passed_on = (grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED)
        if err.code() in passed_on or any(key == errors.REASON_KEY for key, _ in metadata):
            return errors.from_status(err.code(), details, metadata)
        where = f'node "{self.node}" at {self.target}'
        if "handshake" in details.lower() or "WRONG_VERSION_NUMBER" in details:
            return errors.UnavailableError(
                f"error dialing backend: the stream port of {where} does not speak TLS "
                "(an agent without a node identity? start it with the join token)"
            )
        code = err.code()
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN):
            return errors.UnavailableError(f"error dialing backend: {where}: {details}")
        return errors.from_status(code, f"error dialing backend: {where}: {details}")


class AgentDirectory:
    """Pods and nodes to agent stubs; one channel per agent address.

    With ``credentials`` (a secure server) the channel is mutual TLS: the
    agent must present its node certificate (checked for the DNS name of the
    node), and the API server presents ``CN=shoal-apiserver``, the only
    client an agent's stream server accepts."""

    def __init__(self, registry: Any, credentials: grpc.ChannelCredentials | None = None) -> None:
        self.registry = registry
        self.credentials = credentials
        self._channels: dict[tuple[str, str], grpc.aio.Channel] = {}

    async def node_stub(self, node_name: str) -> AgentLink:
        return self.link(await self.registry.get(kinds.resolve("Node"), "", node_name))

    def link(self, node: Any) -> AgentLink:
        """The link to the agent of ``node`` (a Node already read, as a
        scrape of every node has them from its list)."""
        node_name = node.metadata.name
        port = node.status.daemon_endpoints.kubelet_endpoint.port
        address = next((a.address for a in node.status.addresses if a.type == "InternalIP"), "")
        if not port or not address:
            raise errors.UnavailableError(f'node "{node_name}" has no agent endpoint')
        target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        key = (target, node_name)
        if key not in self._channels:
            self._channels[key] = self._open(target, node_name)
        return AgentLink(streams_pb2_grpc.StreamsStub(self._channels[key]), node_name, target)

    def _open(self, target: str, node_name: str) -> grpc.aio.Channel:
        # Its own connections: an agent that took over a stopped one's port
        # must not inherit that connection's back-off (see the client's options).
        options: list[tuple[str, Any]] = [("grpc.use_local_subchannel_pool", 1)]
        if self.credentials is None:
            return grpc.aio.insecure_channel(target, options=options)
        options.append(("grpc.ssl_target_name_override", node_name))
        return grpc.aio.secure_channel(target, self.credentials, options=options)

    async def route(
        self, ref: streams_pb2.ContainerRef, *, container: bool = True
    ) -> tuple[AgentLink, streams_pb2.ContainerRef]:
        """The agent of the pod's node, and ``ref`` completed: its node and,
        with ``container`` (logs, exec; not port-forward), the container."""
        pod = await self.registry.get(kinds.resolve("Pod"), ref.namespace or "default", ref.pod)
        if not pod.spec.node_name:
            raise errors.BadRequestError(f"pod {ref.pod} does not have a host assigned")
        routed = streams_pb2.ContainerRef(
            namespace=pod.metadata.namespace,
            pod=pod.metadata.name,
            container=choose_container(pod, ref.container) if container else "",
            node=pod.spec.node_name,
        )
        return await self.node_stub(pod.spec.node_name), routed

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()


async def _abort(context: Any, err: Exception, link: AgentLink | None = None) -> None:
    if isinstance(err, grpc.aio.AioRpcError):
        if link is None:
            metadata = tuple(err.trailing_metadata() or ())
            await context.abort(err.code(), err.details() or "", metadata)
        else:
            err = link.failure(err)
    if isinstance(err, errors.APIError):
        await context.abort(err.code, err.message, errors.trailing_metadata(err))
    raise err


def _is_last(out: Any) -> bool:
    """An exec's or attach's last message (its exit code); port-forward
    frames have none."""
    return isinstance(out, streams_pb2.ExecOutput) and out.WhichOneof("output") == "exit_code"


async def _relay_input(requests: Any, call: Any) -> None:
    async for message in requests:
        await call.write(message)
    with contextlib.suppress(grpc.aio.UsageError, grpc.aio.AioRpcError):
        await call.done_writing()


class StreamsProxy(streams_pb2_grpc.StreamsServicer):
    def __init__(self, directory: AgentDirectory) -> None:
        self.directory = directory

    async def Logs(self, request: Any, context: Any) -> AsyncIterator[Any]:
        link = None
        try:
            link, ref = await self.directory.route(request.ref)
            forwarded = streams_pb2.LogsRequest()
            forwarded.CopyFrom(request)
            forwarded.ref.CopyFrom(ref)
            async for chunk in link.stub.Logs(forwarded):
                yield chunk
        except (errors.APIError, grpc.aio.AioRpcError) as err:
            await _abort(context, err, link)

    async def Exec(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        async for out in self._bidi(request_iterator, context, "Exec", "input"):
            yield out

    async def Attach(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        async for out in self._bidi(request_iterator, context, "Attach", "input"):
            yield out

    async def PortForward(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        async for out in self._bidi(request_iterator, context, "PortForward", "frame"):
            yield out

    async def _bidi(
        self, requests: Any, context: Any, method: str, oneof: str
    ) -> AsyncIterator[Any]:
        pump: asyncio.Task[None] | None = None
        link = None
        try:
            first = await anext(aiter(requests))
            if first.WhichOneof(oneof) != "start":
                raise errors.BadRequestError(f"{method}: the first message must be start")
            pod_only = method == "PortForward"  # a port is the pod's, not a container's
            link, ref = await self.directory.route(first.start.ref, container=not pod_only)
            first.start.ref.CopyFrom(ref)
            call = getattr(link.stub, method)()
            await call.write(first)
            pump = asyncio.create_task(_relay_input(requests, call))
            async for out in call:
                yield out
                if _is_last(out):
                    call.cancel()  # the session ended: its status adds nothing
                    return
        except StopAsyncIteration:
            return
        except (errors.APIError, grpc.aio.AioRpcError) as err:
            await _abort(context, err, link)
        finally:
            if pump is not None:
                pump.cancel()

    async def ListImages(self, request: Any, context: Any) -> Any:
        link = None
        try:
            link = await self.directory.node_stub(request.node)
            return await link.stub.ListImages(request)
        except (errors.APIError, grpc.aio.AioRpcError) as err:
            await _abort(context, err, link)

    async def Summary(self, request: Any, context: Any) -> Any:
        link = None
        try:
            link = await self.directory.node_stub(request.node)
            return await link.stub.Summary(request)
        except (errors.APIError, grpc.aio.AioRpcError) as err:
            await _abort(context, err, link)

    async def LoadImage(self, request_iterator: Any, context: Any) -> Any:
        link = None
        try:
            first = await anext(aiter(request_iterator))
            link = await self.directory.node_stub(first.node)
            call = link.stub.LoadImage()
            await call.write(first)
            await _relay_input(request_iterator, call)
            return await call
        except StopAsyncIteration:
            await _abort(context, errors.BadRequestError("load image: no data"))
        except (errors.APIError, grpc.aio.AioRpcError) as err:
            await _abort(context, err, link)


def add_streams(
    server: grpc.aio.Server, registry: Any, credentials: grpc.ChannelCredentials | None = None
) -> AgentDirectory:
    """Serve the Streams relay on ``server``; close the returned directory on stop."""
    directory = AgentDirectory(registry, credentials)
    streams_pb2_grpc.add_StreamsServicer_to_server(StreamsProxy(directory), server)
    return directory
