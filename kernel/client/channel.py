"""The client's channel: TLS from the config, and the metadata every call
carries (its credentials, and ``call_metadata`` of the current context).

Credentials ride as per-call metadata added in this process's event loop,
not as gRPC call credentials: Python's gRPC runs a metadata plugin on a new
thread for every call, which costs more than the call itself.
``AuthChannel`` wraps the channel so stubs made on ``client.channel``
anywhere (streams, port-forward, images...) carry the same credentials.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import grpc
from shoal import config

# Extra metadata for the calls made in this context: the HTTP gateway sets
# impersonation headers here for the one request it serves.
call_metadata: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "shoal_call_metadata", default=()
)

Metadata = tuple[tuple[str, str], ...]


def tls_credentials(cfg: config.ClientConfig) -> grpc.ChannelCredentials | None:
    """TLS verified against the config's CA; None for a plain (``--insecure``) server."""
    if not cfg.secure:
        if cfg.token or cfg.cert_data:
            raise config.ConfigError(
                "credentials need TLS: the config has no certificate-authority-data "
                "for the server (a server run with --insecure takes none)"
            )
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=cfg.ca_data,
        private_key=cfg.key_data or None,
        certificate_chain=cfg.cert_data or None,
    )


def auth_metadata(cfg: config.ClientConfig) -> Callable[[], Metadata]:
    """What each call presents: a certificate assertion when the config has
    a certificate, else its token. admin.conf has both: the certificate
    wins, as kube-apiserver takes a client certificate before a token, so
    revoking admin.conf's token never locks shoal's own client out."""
    if cfg.cert_data and cfg.key_data:
        from shoal.certauth import CertificateCredentials

        return _AssertionMetadata(CertificateCredentials(cfg.cert_data, cfg.key_data))
    if cfg.token:
        fixed = (("authorization", f"Bearer {cfg.token}"),)
        return lambda: fixed
    return lambda: ()


class _AssertionMetadata:
    """A certificate assertion, made anew for each new connection: the
    server binds an assertion to the connection that first presents it."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    def __call__(self) -> Metadata:
        return (("authorization", f"Bearer {self.credentials.token()}"),)

    def for_channel(self, channel: Any) -> Callable[[], Metadata]:
        def metadata() -> Metadata:
            # Not READY: this call opens (or waits for) a new connection.
            if channel.get_state(try_to_connect=False) != grpc.ChannelConnectivity.READY:
                self.credentials.renew()
            return self()

        return metadata


class _Callable:
    def __init__(self, inner: Any, metadata: Callable[[], Metadata]) -> None:
        self._inner, self._metadata = inner, metadata

    def __call__(self, *args: Any, metadata: Any = None, **kwargs: Any) -> Any:
        extra = self._metadata() + call_metadata.get()
        if extra:  # a pair the caller passed already is not sent twice
            metadata = tuple(dict.fromkeys((*tuple(metadata or ()), *extra)))
        return self._inner(*args, metadata=metadata, **kwargs)


class AuthChannel:
    """A grpc.aio.Channel whose every call carries ``metadata()``."""

    def __init__(self, channel: grpc.aio.Channel, metadata: Callable[[], Metadata]) -> None:
        if isinstance(metadata, _AssertionMetadata):
            metadata = metadata.for_channel(channel)
        self._channel, self._metadata = channel, metadata

    def unary_unary(self, *args: Any, **kwargs: Any) -> Any:
        return _Callable(self._channel.unary_unary(*args, **kwargs), self._metadata)

    def unary_stream(self, *args: Any, **kwargs: Any) -> Any:
        return _Callable(self._channel.unary_stream(*args, **kwargs), self._metadata)

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        return _Callable(self._channel.stream_unary(*args, **kwargs), self._metadata)

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        return _Callable(self._channel.stream_stream(*args, **kwargs), self._metadata)

    def __getattr__(self, name: str) -> Any:  # close, channel_ready, get_state...
        return getattr(self._channel, name)

    async def __aenter__(self) -> AuthChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._channel.close()
