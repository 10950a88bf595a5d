"""Cluster DNS for one node: a :class:`~.server.DNSServer` whose names
follow Services and Endpoints through the process's shared informers, so
an answer changes as soon as the watch delivers the change (no polling)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

import structlog
from shoal.client import shared_informers
from shoal.plugins.dns.records import DEFAULT_ZONE, build_names
from shoal.plugins.dns.resolver import Resolver
from shoal.plugins.dns.server import DNSServer, Forwarder, host_nameservers

log = structlog.get_logger("dns")

DNS_PORT = 53


@dataclass
class ClusterDNSOptions:
    zone: str = DEFAULT_ZONE
    port: int = DNS_PORT
    # Where to listen: the node's addresses pods reach (the container
    # bridge's gateway) and the node's own address.
    addresses: list[str] = field(default_factory=list)
    # "": the node's /etc/resolv.conf nameservers (less our own addresses)
    upstreams: list[tuple[str, int]] | None = None


class ClusterDNS:
    def __init__(self, client: Any, options: ClusterDNSOptions) -> None:
        self.options = options
        self.resolver = Resolver(options.zone)
        upstreams = options.upstreams
        if upstreams is None:
            own = host_nameservers(exclude=options.addresses)
            upstreams = [(ip, DNS_PORT) for ip in own]
        self.server = DNSServer(self.resolver, Forwarder(upstreams))
        informers = shared_informers(client)
        self.services = informers.for_kind("Service")
        self.endpoints = informers.for_kind("Endpoints")
        self._registrations: list[Any] = []
        self.port = options.port
        self.listening: list[str] = []

    def rebuild(self, *_: Any) -> None:
        """Called on every Service and Endpoints change: the tables are
        remade whole (a few thousand objects cost milliseconds) and swapped
        in, so a query never sees half an update."""
        self.resolver.names = build_names(
            self.services.list(), self.endpoints.list(), self.resolver.zone
        )

    async def start(self) -> None:
        for informer in (self.services, self.endpoints):
            handler = informer.add_handler(self.rebuild, self.rebuild, self.rebuild)
            self._registrations.append(handler)
            informer.start()
        for informer in (self.services, self.endpoints):
            await informer.wait_synced()
        self.rebuild()
        for address in self.options.addresses:
            try:
                await self.listen(address)
            except OSError as err:  # taken, or not an address of this host
                log.warning("cluster DNS cannot listen", address=address, error=str(err))

    async def listen(self, address: str) -> None:
        """Listen on one more address (a bridge that came up later)."""
        if address in self.listening:
            return
        self.port = await self.server.listen(address, self.port, freebind=True)
        self.listening.append(address)

    async def stop(self) -> None:
        await self.server.close()
        for registration in self._registrations:
            registration.remove()
        for informer in (self.services, self.endpoints):
            await informer.stop()


def route_source(destination: str) -> str:
    """This host's address on the way to ``destination`` (a UDP socket's
    ``connect`` picks the route and sends nothing): the bridge's address
    for a container network's address."""
    family = socket.AF_INET6 if ":" in destination else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((destination, DNS_PORT))
        return str(sock.getsockname()[0])
