"""Restart back-off, as the kubelet does it: a container that keeps failing
is restarted after 10 s, then 20 s, 40 s... up to 5 min; meanwhile its state
is ``waiting: CrashLoopBackOff``. The wait counts from the container's exit,
and a container that stayed up for twice the maximum starts over at 10 s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shoal import clock as shoal_clock


@dataclass
class _Entry:
    delay: float
    last_restart: float


class BackOff:
    """Back-off per key (``pod uid/container name``); times are wall-clock
    seconds, as runtimes report exits."""

    def __init__(
        self,
        initial: float = 10.0,
        maximum: float = 300.0,
        clock: Callable[[], float] = shoal_clock.time,
    ) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("back-off needs 0 < initial <= maximum")
        self.initial, self.maximum, self.clock = initial, maximum, clock
        self._entries: dict[str, _Entry] = {}

    def remaining(self, key: str, since: float) -> float:
        """Seconds still to wait before restarting what exited at ``since``."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.delay - (self.clock() - since))

    def delay(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.delay if entry else 0.0

    def next(self, key: str) -> None:
        """Record a restart: the next wait doubles (or starts over)."""
        now = self.clock()
        entry = self._entries.get(key)
        if entry is None or now - entry.last_restart > 2 * self.maximum:
            self._entries[key] = _Entry(self.initial, now)
        else:
            entry.delay, entry.last_restart = min(entry.delay * 2, self.maximum), now

    def forget(self, prefix: str) -> None:
        """Drop every key starting with ``prefix`` (a pod that is gone)."""
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]
