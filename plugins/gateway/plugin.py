"""The gateway as a plugin: ``register_http_servers`` offers ``gateway``,
which ``shoal server --http-listen`` runs beside the API server.

Over the API server's plain port it uses the control plane's client. Over
TLS it serves HTTPS with the API server's serving certificate, authenticates
each caller itself and calls the API as ``shoal-gateway`` (a client of its
own), impersonating the caller. Either way its URL goes into the admin
kubeconfig (``http-server``) so ``shoal kubeconfig`` and kubectl find it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shoal import hookimpl
from shoal.contracts import HTTPServerContext
from shoal.plugins.gateway.authn import secure_front
from shoal.plugins.gateway.kubeconfig import record_http_server
from shoal.plugins.gateway.runner import Gateway
from shoal.registry import Registry

if TYPE_CHECKING:
    from shoal.apiserver.connlimits import ConnectionLimits
    from shoal.apiserver.fairness import RequestLimits
    from shoal.apiserver.security import ServerSecurity

NAME = "gateway"


class GatewayServer:
    """The REST gateway as an :class:`shoal.contracts.HTTPServer`."""

    def __init__(self, context: HTTPServerContext) -> None:
        self.context = context
        self.gateway = (
            Gateway(context.client, limits=context.limits, connections=context.connections)
            if context.security is None
            else secure_gateway(
                context.client.target, context.security, context.limits, context.connections
            )
        )

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def port(self) -> int:
        return self.gateway.port

    async def start(self) -> None:
        await self.gateway.start(self.context.listen)
        record_http_server(self.context.admin_config, self.context.cluster, self.gateway.url)

    async def stop(self) -> None:
        await self.gateway.stop()
        if self.gateway.client is not self.context.client:  # the secure one's own
            await self.gateway.client.close()


def secure_gateway(
    address: str,
    security: ServerSecurity,
    limits: RequestLimits | None = None,
    connections: ConnectionLimits | None = None,
) -> Gateway:
    """HTTPS with the serving certificate, in front of the API server at
    ``address``; calls it as shoal-gateway (a client of its own, closed by
    whoever stops the gateway), impersonating each authenticated caller."""
    front = secure_front(address, security)
    return Gateway(
        front.client,
        ssl_context=front.ssl_context,
        authenticator=front.authenticator,
        limits=limits,
        connections=connections,
    )


@hookimpl
def register_http_servers(registry: Registry[Any]) -> None:
    registry.register(NAME, GatewayServer)
