"""The HTTP servers ``shoal server`` runs beside its gRPC port: whatever
plugins offer through ``register_http_servers`` (the REST gateway is the
built-in one), each asked for by name with a listen address."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import structlog
from shoal import plugin_manager
from shoal.contracts import HTTPServer, HTTPServerContext, HTTPServerFactory

log = structlog.get_logger("apiserver")

GATEWAY = "gateway"  # what --http-listen runs: the Kubernetes REST API


class HTTPServerError(Exception):
    """An HTTP server was asked for that no loaded plugin offers."""


def wanted(http_listen: str, others: Mapping[str, str] | None) -> dict[str, str]:
    """Name -> listen address: ``--http-listen`` is the gateway's."""
    servers = dict(others or {})
    if http_listen:
        if servers.get(GATEWAY, http_listen) != http_listen:
            raise HTTPServerError(f'two addresses for HTTP server "{GATEWAY}"')
        servers[GATEWAY] = http_listen
    return servers


def factories(
    wanted: Mapping[str, str], pm: plugin_manager.ShoalPluginManager | None = None
) -> dict[str, HTTPServerFactory]:
    """The factory of each server in ``wanted`` (name -> listen address);
    :class:`HTTPServerError` naming the plugin when one is missing."""
    if not wanted:
        return {}
    registry = plugin_manager.http_servers(pm)
    missing = [name for name in wanted if name not in registry]
    if missing:
        raise HTTPServerError(_missing(missing[0], registry.names(), pm))
    return {name: registry.get(name) for name in wanted}


def _missing(name: str, available: list[str], pm: plugin_manager.ShoalPluginManager | None) -> str:
    record = (pm or plugin_manager.get_plugin_manager()).records.get(name)
    if record is not None and record.status == "disabled":
        why = f'the plugin "{name}" is disabled (SHOAL_PLUGINS / SHOAL_DISABLE_PLUGINS)'
    elif record is not None and record.status == "failed":
        why = f'the plugin "{name}" failed to load: {record.error}'
    else:
        why = f"no loaded plugin offers it (offered: {', '.join(available) or 'none'})"
    return f'cannot serve HTTP server "{name}": {why}; `shoal plugins` lists the plugins'


async def start(
    wanted: Mapping[str, str],
    made: Mapping[str, HTTPServerFactory],
    context: Callable[[str], HTTPServerContext],
) -> dict[str, HTTPServer]:
    """Make and start each server (``context(listen)`` builds what its
    factory gets); if one fails, those started are stopped again."""
    servers: dict[str, HTTPServer] = {}
    try:
        for name, listen in wanted.items():
            server = made[name](context(listen))
            await server.start()
            servers[name] = server
            log.info("serving HTTP", server=name, url=server.url)
    except BaseException:
        await stop(servers)
        raise
    return servers


async def stop(servers: Mapping[str, HTTPServer]) -> None:
    """Stop ``servers``, the last started first."""
    for name, server in reversed(list(servers.items())):
        try:
            await server.stop()
        except Exception as exc:  # the others still stop
            log.error("HTTP server failed to stop", server=name, error=repr(exc))


def port(server: HTTPServer) -> int:
    """The port ``server`` listens on, from its URL."""
    parsed = urlsplit(server.url).port
    if parsed is None:
        raise HTTPServerError(f"HTTP server URL {server.url!r} has no port")
    return parsed
