"""``register_http_servers`` offers ``dashboard``: over the API server's
plain port it uses the control plane's client; over TLS it serves HTTPS with
the serving certificate, asks the browser for a bearer token and calls the
API as ``shoal-gateway`` impersonating the token's user (as the gateway does)."""

from __future__ import annotations

from typing import Any

from shoal import config
from shoal import hookimpl
from shoal.client import Client
from shoal.contracts import HTTPServerContext
from shoal.plugins.dashboard.server import Dashboard
from shoal.plugins.gateway.authn import server_ssl_context
from shoal.registry import Registry

NAME = "dashboard"


class DashboardServer:
    """The dashboard as an :class:`shoal.contracts.HTTPServer`."""

    def __init__(self, context: HTTPServerContext) -> None:
        self.context = context
        security = context.security
        if security is None:
            self.dashboard = Dashboard(context.client)
            return
        pair = security.pki.ensure("gateway")  # may impersonate, as the gateway does
        cfg = config.ClientConfig(
            context.client.target,
            ca_data=security.pki.ca_pem,
            cert_data=pair.cert_pem,
            key_data=pair.key_pem,
        )
        cert_file, key_file = security.pki.paths("apiserver")
        self.dashboard = Dashboard(
            Client.for_config(cfg),
            ssl_context=server_ssl_context(cert_file, key_file, security.pki.ca_pem),
            authenticator=security.authenticator(),
        )

    @property
    def url(self) -> str:
        return self.dashboard.url

    async def start(self) -> None:
        await self.dashboard.start(self.context.listen)

    async def stop(self) -> None:
        await self.dashboard.stop()
        if self.dashboard.client is not self.context.client:
            await self.dashboard.client.close()


@hookimpl
def register_http_servers(registry: Registry[Any]) -> None:
    registry.register(NAME, DashboardServer)
