"""Events the agent writes about pods (Pulling, Started, BackOff...), through
the kernel's aggregating ``shoal.events.EventRecorder``: recording runs in
the background and never fails the sync that asked for it."""

from __future__ import annotations

from typing import Any, Protocol

from shoal.events import NORMAL, WARNING, EventRecorder

__all__ = ["NORMAL", "WARNING", "Recorder", "recorder"]


class Recorder(Protocol):
    def emit(self, obj: Any, type: str, reason: str, message: str) -> None: ...


def recorder(client: Any, node: str) -> Recorder:
    return EventRecorder(client, "kubelet", node)
