"""Expectations: what a controller has asked for and not yet seen in its
informer, like Kubernetes' ``ControllerExpectations``.

After creating three pods a ReplicaSet controller must not count pods again
until its cache shows those three, or a resync in between would create three
more. ``satisfied`` is False while creations or deletions are outstanding,
unless the record is older than ``ttl`` (a lost watch event must not wedge a
controller forever).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shoal import clock


@dataclass
class _Record:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    stamp: float = field(default_factory=clock.monotonic)


class Expectations:
    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._records: dict[str, _Record] = {}

    def expect_creations(self, key: str, count: int) -> None:
        self._records[key] = _Record(adds=count)

    def expect_deletions(self, key: str, pod_keys: set[str]) -> None:
        self._records[key] = _Record(deletes=set(pod_keys))

    def expect(self, key: str, creations: int, deletions: set[str]) -> None:
        """Creations and deletions asked for at once (a DaemonSet's sync)."""
        self._records[key] = _Record(adds=creations, deletes=set(deletions))

    def creation_observed(self, key: str) -> None:
        record = self._records.get(key)
        if record is not None:
            record.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        record = self._records.get(key)
        if record is not None:
            record.deletes.discard(pod_key)

    def satisfied(self, key: str) -> bool:
        record = self._records.get(key)
        if record is None:
            return True
        if record.adds <= 0 and not record.deletes:
            return True
        return clock.monotonic() - record.stamp > self.ttl

    def forget(self, key: str) -> None:
        self._records.pop(key, None)
