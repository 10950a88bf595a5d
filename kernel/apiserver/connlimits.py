"""How many connections a listener takes, and how long a connection may
sit without doing anything: an idle TCP connection holds a descriptor, and
a thousand of them with no credentials must not starve the API.

- ``max_connections`` per listener (the gRPC port, the HTTP gateway): past
  it new connections are closed at once, before any TLS;
- ``header_timeout``: the TLS handshake and a request's headers (HTTP) or
  the HTTP/2 preface (gRPC) must arrive this soon after the connection;
- idle timeouts: an HTTP keep-alive connection between requests, a gRPC
  connection without any call (clients reconnect by themselves);
- gRPC keepalive pings find dead peers holding streams open;
- ``pending_calls``: calls gRPC's core has received but the server's event
  loop has not taken up yet. Past it, gRPC sheds calls at random, and past
  three times it every new call: the client sees ``CANCELLED`` (the core
  says nothing more). 1000 is gRPC's own default; a simulation, whose every
  client is in the same process, raises it so nothing is shed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import structlog

log = structlog.get_logger("apiserver")
DESCRIPTORS_KEPT = 256  # for the store, logs, agents' streams... beside the listeners


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 1000
    header_timeout: float = 10.0
    http_idle_timeout: float = 90.0
    grpc_idle_timeout: float = 300.0
    grpc_keepalive: float = 60.0
    pending_calls: int = 1000

    def grpc_options(self) -> list[tuple[str, Any]]:
        return [
            ("grpc.max_allowed_incoming_connections", self.max_connections),
            ("grpc.server_handshake_timeout_ms", int(self.header_timeout * 1000)),
            ("grpc.max_connection_idle_ms", int(self.grpc_idle_timeout * 1000)),
            ("grpc.keepalive_time_ms", int(self.grpc_keepalive * 1000)),
            ("grpc.keepalive_timeout_ms", 20_000),
            ("grpc.http2.max_pings_without_data", 0),  # keep checking idle watch streams
            ("grpc.server.max_pending_requests", self.pending_calls),
            ("grpc.server.max_pending_requests_hard_limit", 3 * self.pending_calls),
        ]

    def within(self, open_files: int, listeners: int = 2) -> ConnectionLimits:
        """Lowered so that every listener full still leaves descriptors
        for the rest of the server (a warning says so)."""
        budget = max(16, (open_files - DESCRIPTORS_KEPT) // listeners)
        if self.max_connections <= budget:
            return self
        log.warning(
            "--max-connections lowered to fit the open files limit",
            asked=self.max_connections,
            used=budget,
            open_files=open_files,
            hint="raise the hard limit (ulimit -Hn, LimitNOFILE=) for more",
        )
        return replace(self, max_connections=budget)


class OnceIn:
    """Says yes at most once every ``seconds``, counting the noes between:
    a flood is logged once, not once per connection."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds, self.suppressed = seconds, 0
        self._last = -seconds

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.seconds:
            self.suppressed += 1
            return False
        self._last = now
        return True

    def take_suppressed(self) -> int:
        count, self.suppressed = self.suppressed, 0
        return count
