"""Certificate assertions are bound to one connection.

A client signs an assertion (``shoal.certauth``) and uses it for every
call on one connection for a few minutes; the server remembers, for each
assertion id (``jti``) until the assertion expires, the connection (peer
address and port) that first presented it. The same assertion from any
other connection is a replay: someone copied it. The memory is bounded:
expired ids are dropped, and when it is full of live ones new assertions
are refused until some expire (never forgetting a live one, which would
let its copy in).
"""

from __future__ import annotations

import time

DEFAULT_LIMIT = 100_000
PURGE_SECONDS = 30.0


class ReplayError(Exception):
    pass


class ReplayCache:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._seen: dict[str, tuple[str, float]] = {}
        self._purged = 0.0

    def __len__(self) -> int:
        return len(self._seen)

    def bind(self, jti: str, peer: str, until: float, now: float | None = None) -> None:
        """Accept ``jti`` from ``peer`` (a connection), or raise ReplayError.
        An unknown peer ("") may use an assertion once."""
        at = time.time() if now is None else now
        seen = self._seen.get(jti)
        if seen is not None and seen[1] >= at:
            if not peer or seen[0] != peer:
                raise ReplayError(
                    "the certificate assertion was already used on another connection "
                    "(replayed?); a client signs a new one for each connection"
                )
            return
        if at - self._purged > PURGE_SECONDS or len(self._seen) >= self.limit:
            self._purge(at)
        if len(self._seen) >= self.limit:
            raise ReplayError("too many certificate assertions in use; retry in a minute")
        self._seen[jti] = (peer, until)

    def _purge(self, at: float) -> None:
        self._purged = at
        self._seen = {k: v for k, v in self._seen.items() if v[1] >= at}
