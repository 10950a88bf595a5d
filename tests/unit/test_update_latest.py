"""The tests' read-change-write helper reads again when a controller wrote
the object in between (the race that failed a DaemonSet test in CI)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from shoal import errors

from tests.integration.helpers import update_latest


class RacingClient:
    """Each ``get`` returns the stored version; the first ``conflicts``
    updates find that a controller wrote a newer one meanwhile."""

    def __init__(self, conflicts: int) -> None:
        self.version = 1
        self.conflicts = conflicts
        self.written: list[Any] = []

    async def get(self, kind: str, name: str, namespace: str) -> Any:
        return SimpleNamespace(version=self.version, replicas=0)

    async def update(self, obj: Any) -> Any:
        if self.conflicts:
            self.conflicts -= 1
            self.version += 1  # the controller's write
            raise errors.ConflictError("the object has been modified")
        self.written.append(obj)
        return obj


async def test_a_conflict_reads_the_object_again_and_reapplies_the_change() -> None:
    client = RacingClient(conflicts=2)
    out = await update_latest(
        client, "DaemonSet", "agent", "default", lambda o: setattr(o, "replicas", 3)
    )
    assert (out.version, out.replicas) == (3, 3)
    assert len(client.written) == 1


async def test_an_endless_conflict_fails_the_test_clearly() -> None:
    with pytest.raises(AssertionError, match="still conflicting"):
        await update_latest(
            RacingClient(conflicts=100), "DaemonSet", "agent", "default", lambda o: None
        )
