"""Start and stop the gateway on an address: in ``shoal server
--http-listen`` (talking gRPC to its own port) or in ``shoal proxy``."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from shoal.apiserver.connlimits import ConnectionLimits
from shoal.apiserver.fairness import RequestLimits
from shoal.client import Client
from shoal.plugins.gateway.app import build_app
from shoal.plugins.gateway.authn import authentication
from shoal.plugins.gateway.connections import GuardedSite

log = structlog.get_logger("gateway")


def split_listen(listen: str) -> tuple[str, int]:
    """``127.0.0.1:8001`` -> ("127.0.0.1", 8001); ``[::1]:0`` -> ("::1", 0)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ValueError(f'invalid listen address "{listen}": want HOST:PORT')
    return host.strip("[]") or "127.0.0.1", int(port)


class Gateway:
    """The REST gateway over ``client``; ``start`` binds and returns the port.
    With ``ssl_context`` and ``authenticator`` (``shoal server
    --http-listen``): HTTPS, each caller authenticated and acted for."""

    def __init__(
        self,
        client: Client,
        *,
        ssl_context: Any = None,
        authenticator: Any = None,
        limits: RequestLimits | None = None,
        connections: ConnectionLimits | None = None,
    ) -> None:
        self.client = client
        self.limits = limits
        self.ssl_context = ssl_context
        self.authenticator = authenticator
        self.connections = connections or ConnectionLimits()
        self.port = 0
        self.host = ""
        self._runner: web.AppRunner | None = None

    async def start(self, listen: str = "127.0.0.1:0") -> int:
        host, port = split_listen(listen)
        middleware = authentication(self.authenticator) if self.authenticator else None
        runner = web.AppRunner(
            build_app(self.client, middleware, self.limits),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            keepalive_timeout=self.connections.http_idle_timeout,
        )
        await runner.setup()
        site = GuardedSite(
            runner, host, port, ssl_context=self.ssl_context, limits=self.connections
        )
        await site.start()
        self._runner = runner
        self.host = host
        self.port = runner.addresses[0][1]
        log.info("serving the Kubernetes REST API", listen=f"{host}:{self.port}")
        return self.port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
