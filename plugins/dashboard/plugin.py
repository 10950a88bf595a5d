"""``register_http_servers`` offers ``dashboard``: over the API server's
plain port it uses the control plane's client; over TLS it serves HTTPS with
the serving certificate, asks the browser for a bearer token and calls the
API as ``shoal-gateway`` impersonating the token's user (as the gateway does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shoal import hookimpl
from shoal.contracts import HTTPServerContext
from shoal.plugins.dashboard.server import Dashboard
from shoal.plugins.gateway.authn import secure_front
from shoal.registry import Registry

if TYPE_CHECKING:
    from shoal.apiserver.security import ServerSecurity

NAME = "dashboard"
# Beside the admin kubeconfig: where the dashboard serves (`shoal up` and
# `shoal dashboard` read it; the port may have been chosen by the system).
URL_FILE = "dashboard.url"


class DashboardServer:
    """The dashboard as an :class:`shoal.contracts.HTTPServer`."""

    def __init__(self, context: HTTPServerContext) -> None:
        self.context = context
        self.dashboard = (
            Dashboard(context.client)
            if context.security is None
            else secure_dashboard(context.client.target, context.security)
        )

    @property
    def url(self) -> str:
        return self.dashboard.url

    async def start(self) -> None:
        await self.dashboard.start(self.context.listen)
        where = self.context.admin_config.parent / URL_FILE
        where.write_text(self.dashboard.url + "/\n")

    async def stop(self) -> None:
        await self.dashboard.stop()
        if self.dashboard.client is not self.context.client:
            await self.dashboard.client.close()


def secure_dashboard(address: str, security: ServerSecurity) -> Dashboard:
    """HTTPS with the serving certificate in front of the API server at
    ``address``; calls it as shoal-gateway (a client of its own, closed by
    whoever stops it), impersonating each signed-in user."""
    front = secure_front(address, security)  # as the gateway: it may impersonate
    return Dashboard(front.client, ssl_context=front.ssl_context, authenticator=front.authenticator)


@hookimpl
def register_http_servers(registry: Registry[Any]) -> None:
    registry.register(NAME, DashboardServer)
