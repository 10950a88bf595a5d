"""The async client: typed objects in and out, APIError subclasses for errors.

The scheduler, controllers, agent and command line all talk to the API
through this, never to the store.
"""

from __future__ import annotations

import builtins
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from shoal import __version__, config, errors, kinds
from shoal.api.v1 import api_pb2, api_pb2_grpc
from shoal.client.channel import (
    AuthChannel,
    Metadata,
    auth_metadata,
    call_metadata,
    tls_credentials,
)
from shoal.kinds import Kind

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass
class ObjectList:
    items: list[Any] = field(default_factory=list)
    resource_version: str = ""
    continue_token: str = ""


@dataclass
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED or BOOKMARK
    object: Any  # the typed object; None for BOOKMARK
    resource_version: str


def unpack(any_object: AnyProto) -> Any:
    obj = kinds.message_type(any_object.type_url)()
    obj.ParseFromString(any_object.value)
    return obj


def channel_target(servers: str) -> str:
    """``"a:1,b:2"`` (several API servers) -> a gRPC target over that static
    list, names resolved now; a single address passes through unchanged."""
    addresses = [a.strip() for a in servers.split(",") if a.strip()]
    if len(addresses) < 2:
        return servers
    resolved = [_resolve(address) for address in addresses]
    if all(":" not in host for host, _ in resolved):
        return "ipv4:" + ",".join(f"{host}:{port}" for host, port in resolved)
    # Mixed families: IPv4 as IPv4-mapped IPv6, one list for one scheme.
    mapped = [(host if ":" in host else f"::ffff:{host}", port) for host, port in resolved]
    return "ipv6:" + ",".join(f"[{host}]:{port}" for host, port in mapped)


def _resolve(address: str) -> tuple[str, str]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"server address {address!r} is not HOST:PORT")
    host = host.strip("[]")
    try:
        info = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise ValueError(f"cannot resolve server {host!r}: {err}") from None
    return str(info[0][4][0]), port


__all__ = ["Client", "ObjectList", "WatchEvent", "call_metadata", "channel_credentials"]


def _kind_name(kind: str | Kind) -> str:
    """The name the server resolves to ``kind`` (qualified when another
    group's kind goes by the same name: two CRDs may both add a "CronTab")."""
    return kinds.request_name(kind) if isinstance(kind, Kind) else kind


def channel_credentials(cfg: config.ClientConfig) -> grpc.ChannelCredentials | None:
    """TLS plus the config's credentials as gRPC call credentials, for a
    channel made by hand (a ``Client`` adds them as metadata, faster)."""
    tls = tls_credentials(cfg)
    if tls is None:
        return None
    if cfg.cert_data and cfg.key_data:  # the certificate first, as auth_metadata
        from shoal.certauth import call_credentials

        return grpc.composite_channel_credentials(
            tls, call_credentials(cfg.cert_data, cfg.key_data)
        )
    if cfg.token:
        return grpc.composite_channel_credentials(
            tls, grpc.access_token_call_credentials(cfg.token)
        )
    return tls


def _channel_options(target: str) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        # Several servers: stay on one, move to the next when it is gone.
        ("grpc.lb_policy_name", "pick_first"),
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2000),
        # A channel of its own connections: by default gRPC shares them across
        # a process's channels, so a new client to an address whose earlier
        # server stopped (while another channel to it stayed open) inherited
        # that connection's back-off and failed at once with "connection
        # refused", though a server listens there again.
        ("grpc.use_local_subchannel_pool", 1),
        # The server's default field manager is the user agent's first word
        # (metadata.managedFields): "shoal", as Kubernetes' clients say "kubectl".
        ("grpc.primary_user_agent", f"shoal/{__version__}"),
    ]
    first = target.split(",")[0].strip()
    if "," in target:  # a list has no one authority: check the first server's name
        options.append(("grpc.ssl_target_name_override", first.rpartition(":")[0].strip("[]")))
    return options


def open_channel(target: str, credentials: grpc.ChannelCredentials | None) -> grpc.aio.Channel:
    options = _channel_options(target)
    if credentials is None:
        return grpc.aio.insecure_channel(channel_target(target), options=options)
    return grpc.aio.secure_channel(channel_target(target), credentials, options=options)


class Client:
    """``Client("127.0.0.1:6443", credentials=...)``, ``Client.for_config(cfg)``
    or ``Client.from_config()``; use as an async context manager or call
    ``close()``. Without credentials the channel is plain (``--insecure``)."""

    def __init__(
        self,
        target: str,
        *,
        namespace: str = "default",
        channel: grpc.aio.Channel | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        metadata: Callable[[], Metadata] | None = None,
    ) -> None:
        """``credentials``: TLS; ``metadata``: what each call presents (see
        shoal.client.channel); ``for_config`` fills both from a config."""
        self.target = target
        self.namespace = namespace
        raw = channel or open_channel(target, credentials)
        self.channel: Any = AuthChannel(raw, metadata or (lambda: ()))
        self._objects = api_pb2_grpc.ObjectsStub(self.channel)
        self._discovery = api_pb2_grpc.DiscoveryStub(self.channel)

    @classmethod
    def for_config(cls, cfg: config.ClientConfig) -> Client:
        return cls(
            cfg.server,
            namespace=cfg.namespace,
            credentials=tls_credentials(cfg),
            metadata=auth_metadata(cfg),
        )

    @classmethod
    def from_config(cls, path: str | None = None, context: str = "") -> Client:
        return cls.for_config(config.load(path, context))

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.channel.close()

    def _key(self, kind: str | Kind, name: str, namespace: str | None) -> api_pb2.ObjectKey:
        return api_pb2.ObjectKey(
            kind=_kind_name(kind),
            name=name,
            namespace=self.namespace if namespace is None else namespace,
        )

    async def _call(self, method: Any, request: Any) -> Any:
        try:
            return await method(request)
        except grpc.aio.AioRpcError as err:
            raise _api_error(err) from None

    async def create(self, obj: Any, *, dry_run: bool = False, field_manager: str = "") -> Any:
        if not obj.metadata.namespace and kinds.for_message(obj).namespaced:
            obj = _with_namespace(obj, self.namespace)
        request = api_pb2.CreateRequest(dry_run=dry_run, field_manager=field_manager)
        request.object.Pack(obj)
        return unpack((await self._call(self._objects.Create, request)).object)

    async def get(self, kind: str | Kind, name: str, namespace: str | None = None) -> Any:
        request = api_pb2.GetRequest(key=self._key(kind, name, namespace))
        return unpack((await self._call(self._objects.Get, request)).object)

    async def history(
        self, kind: str | Kind, name: str, namespace: str | None = None, *, page: int = 0
    ) -> builtins.list[api_pb2.HistoryEntry]:
        """Every retained revision of one object, oldest first (``entry.object``
        is packed: :func:`unpack` it), read ``page`` at a time (0: at once)."""
        items: builtins.list[api_pb2.HistoryEntry] = []
        token = ""
        while True:
            response = await self.history_page(kind, name, namespace, page, token)
            items += response.items
            token = response.continue_token
            if not token:
                return items

    async def history_page(
        self,
        kind: str | Kind,
        name: str,
        namespace: str | None = None,
        limit: int = 0,
        continue_token: str = "",
    ) -> api_pb2.HistoryResponse:
        """At most ``limit`` revisions after ``continue_token``; the answer's
        ``continue_token`` reads on ("" at the end)."""
        request = api_pb2.HistoryRequest(
            key=self._key(kind, name, namespace), limit=limit, continue_token=continue_token
        )
        return await self._call(self._objects.History, request)

    async def deleted(
        self, kind: str | Kind, namespace: str = "", limit: int = 0, continue_token: str = ""
    ) -> api_pb2.DeletedObjectsResponse:
        """Objects of a kind that no longer exist (``namespace=""``: every
        namespace), a page at a time as :meth:`history_page`."""
        request = api_pb2.ListRequest(
            kind=_kind_name(kind), namespace=namespace, limit=limit, continue_token=continue_token
        )
        return await self._call(self._objects.ListDeleted, request)

    async def list(
        self,
        kind: str | Kind,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
    ) -> ObjectList:
        """Objects of a kind; ``namespace=""`` lists every namespace."""
        request = api_pb2.ListRequest(
            kind=_kind_name(kind),
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            limit=limit,
            continue_token=continue_token,
            resource_version=resource_version,
        )
        response = await self._call(self._objects.List, request)
        return ObjectList(
            [unpack(item) for item in response.items],
            response.resource_version,
            response.continue_token,
        )

    async def update(self, obj: Any, *, dry_run: bool = False, field_manager: str = "") -> Any:
        request = api_pb2.UpdateRequest(dry_run=dry_run, field_manager=field_manager)
        request.object.Pack(obj)
        return unpack((await self._call(self._objects.Update, request)).object)

    async def update_status(
        self, obj: Any, *, dry_run: bool = False, field_manager: str = ""
    ) -> Any:
        request = api_pb2.UpdateRequest(dry_run=dry_run, field_manager=field_manager)
        request.object.Pack(obj)
        return unpack((await self._call(self._objects.UpdateStatus, request)).object)

    async def patch(
        self,
        kind: str | Kind,
        name: str,
        patch: dict[str, Any],
        namespace: str | None = None,
        *,
        status: bool = False,
        dry_run: bool = False,
        field_manager: str = "",
    ) -> Any:
        """A JSON merge patch: ``{"spec": {"replicas": 3}}``."""
        request = api_pb2.PatchRequest(
            key=self._key(kind, name, namespace),
            patch_type="merge",
            patch=json.dumps(patch).encode(),
            status=status,
            dry_run=dry_run,
            field_manager=field_manager,
        )
        return unpack((await self._call(self._objects.Patch, request)).object)

    async def apply(
        self,
        config: dict[str, Any] | bytes,
        *,
        field_manager: str,
        force: bool = False,
        kind: str | Kind | None = None,
        name: str | None = None,
        namespace: str | None = None,
        status: bool = False,
        dry_run: bool = False,
    ) -> Any:
        """Server-side apply of ``config`` (a Kubernetes object as a dict, or
        its JSON/YAML bytes) as ``field_manager``: created when missing; a
        field another manager owns is a ConflictError unless ``force``. The
        object is the one ``config`` names unless ``kind``/``name`` say."""
        document = config if isinstance(config, dict) else {}
        if kind is None or name is None:
            document = document or _yaml_or_json(config)  # type: ignore[arg-type]
        metadata = document.get("metadata") or {}
        request = api_pb2.PatchRequest(
            key=self._key(
                kind if kind is not None else str(document.get("kind", "")),
                name if name is not None else str(metadata.get("name", "")),
                namespace if namespace is not None else metadata.get("namespace"),
            ),
            patch_type="apply",
            patch=config if isinstance(config, bytes) else json.dumps(config).encode(),
            status=status,
            dry_run=dry_run,
            field_manager=field_manager,
            force=force,
        )
        return unpack((await self._call(self._objects.Patch, request)).object)

    async def delete(
        self,
        kind: str | Kind,
        name: str,
        namespace: str | None = None,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str = "",
        uid: str = "",
        resource_version: str = "",
        dry_run: bool = False,
    ) -> Any:
        request = api_pb2.DeleteRequest(
            key=self._key(kind, name, namespace),
            propagation_policy=propagation_policy,
            preconditions=api_pb2.Preconditions(uid=uid, resource_version=resource_version),
            dry_run=dry_run,
        )
        if grace_period_seconds is not None:
            request.grace_period_seconds = grace_period_seconds
        return unpack((await self._call(self._objects.Delete, request)).object)

    async def watch(
        self,
        kind: str | Kind,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        resource_version: str = "",
        allow_bookmarks: bool = False,
    ) -> AsyncIterator[WatchEvent]:
        """Changes after ``resource_version`` (empty: the current objects as
        ADDED first). Raises GoneError when that version was compacted."""
        request = api_pb2.WatchRequest(
            kind=_kind_name(kind),
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            resource_version=resource_version,
            allow_bookmarks=allow_bookmarks,
        )
        call = self._objects.Watch(request)
        try:
            async for response in call:
                for event in response.events:
                    obj = unpack(event.object) if event.HasField("object") else None
                    yield WatchEvent(event.type, obj, event.resource_version)
        except grpc.aio.AioRpcError as err:
            raise _api_error(err) from None
        finally:
            call.cancel()

    async def kinds(self) -> builtins.list[api_pb2.KindInfo]:
        response = await self._call(self._discovery.ListKinds, api_pb2.ListKindsRequest())
        return list(response.kinds)

    async def version(self) -> api_pb2.VersionResponse:
        return await self._call(self._discovery.Version, api_pb2.VersionRequest())


def _with_namespace(obj: Any, namespace: str) -> Any:
    copy = type(obj)()
    copy.CopyFrom(obj)
    copy.metadata.namespace = namespace
    return copy


def _api_error(err: grpc.aio.AioRpcError) -> errors.APIError:
    return errors.from_status(err.code(), err.details() or "", err.trailing_metadata() or ())


def _yaml_or_json(raw: bytes) -> dict[str, Any]:
    import yaml

    document = yaml.safe_load(raw)
    return document if isinstance(document, dict) else {}
