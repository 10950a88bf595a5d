"""Choosing an endpoint for a new connection: round robin over the ready
endpoints, skipping for a moment those that just failed to connect, with
ClientIP session affinity when the Service asks for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Endpoint = tuple[str, int]  # (ip, port)

# An endpoint that refused a connection is passed over for this long, unless
# it is the only one left; a fresh Endpoints update forgives it at once.
FAILURE_COOLDOWN = 5.0


@dataclass
class ServiceBalancer:
    endpoints: list[Endpoint] = field(default_factory=list)
    affinity_seconds: float = 0.0  # > 0: ClientIP affinity for that long
    clock: Callable[[], float] = time.monotonic
    _next: int = 0
    _failed: dict[Endpoint, float] = field(default_factory=dict)
    _sticky: dict[str, tuple[Endpoint, float]] = field(default_factory=dict)

    def update(self, endpoints: list[Endpoint], affinity_seconds: float = 0.0) -> None:
        if endpoints != self.endpoints:
            self.endpoints = list(endpoints)
            self._failed.clear()
            self._sticky = {c: s for c, s in self._sticky.items() if s[0] in endpoints}
        self.affinity_seconds = affinity_seconds

    def candidates(self, client_ip: str = "") -> list[Endpoint]:
        """Endpoints to try, in order: the sticky one first, then round
        robin, endpoints in their failure cool-down last."""
        if not self.endpoints:
            return []
        now = self.clock()
        start = self._next % len(self.endpoints)
        self._next += 1
        ordered = self.endpoints[start:] + self.endpoints[:start]
        healthy = [e for e in ordered if self._failed.get(e, 0.0) <= now]
        cooling = [e for e in ordered if self._failed.get(e, 0.0) > now]
        sticky = self._sticky.get(client_ip) if self.affinity_seconds > 0 else None
        if sticky is not None and sticky[1] > now and sticky[0] in healthy:
            healthy.remove(sticky[0])
            healthy.insert(0, sticky[0])
        return healthy + cooling

    def connected(self, endpoint: Endpoint, client_ip: str = "") -> None:
        self._failed.pop(endpoint, None)
        if self.affinity_seconds > 0 and client_ip:
            self._sticky[client_ip] = (endpoint, self.clock() + self.affinity_seconds)

    def failed(self, endpoint: Endpoint) -> None:
        self._failed[endpoint] = self.clock() + FAILURE_COOLDOWN
