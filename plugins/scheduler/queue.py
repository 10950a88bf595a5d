"""The scheduling queue, like kube-scheduler's PriorityQueue:

* **active**: pods ready to be tried, highest ``spec.priority`` first, then
  oldest first;
* **backoff**: pods that failed, waiting out a per-pod backoff (1 s doubling
  to 10 s) before they go back to active;
* **unschedulable**: pods that fit nowhere, parked until the cluster changes
  (a node added or changed, a pod deleted) - then they move to backoff or, if
  their backoff is over, straight to active - or until a minute passes.

A pod being scheduled is *in flight*: updates to it are remembered and, if it
fails, the newest version is what goes back in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any

from shoal import clock
from shoal.client import object_key

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
UNSCHEDULABLE_FLUSH = 60.0


@dataclass
class QueuedPod:
    key: str
    pod: Any
    attempts: int = 0
    backoff_until: float = 0.0
    parked_at: float = 0.0
    cycle: int = 0  # the scheduling cycle that last popped it
    added: float = field(default_factory=clock.monotonic)


class SchedulingQueue:
    def __init__(
        self, *, initial_backoff: float = INITIAL_BACKOFF, max_backoff: float = MAX_BACKOFF
    ) -> None:
        self.initial_backoff, self.max_backoff = initial_backoff, max_backoff
        self._pods: dict[str, QueuedPod] = {}  # every pod the queue knows, in any state
        self._active: list[tuple[int, int, str]] = []  # (-priority, seq, key)
        self._in_active: set[str] = set()
        self._backoff: list[tuple[float, int, str]] = []
        self._in_backoff: set[str] = set()
        # parked pods, oldest first (a pod parked again moves to the end):
        # the flush on every pop looks at the expired ones only
        self._unschedulable: dict[str, None] = {}
        self._in_flight: set[str] = set()
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self.cycle = 0
        self._move_request_cycle = -1
        self._closed = False

    def __len__(self) -> int:
        return len(self._in_active) + len(self._in_backoff) + len(self._unschedulable)

    # -- informer events -----------------------------------------------------

    def add(self, pod: Any, *, changed: bool = True) -> None:
        """A pending pod appeared or changed; ``changed=False`` when only its
        status moved (our own condition write), which cannot make it fit."""
        key = object_key(pod)
        queued = self._pods.get(key)
        if queued is None:
            self._pods[key] = QueuedPod(key, pod)
            self._push_active(key)
            return
        queued.pod = pod
        if changed and key in self._unschedulable:  # it may fit now
            del self._unschedulable[key]
            self._to_backoff_or_active(queued)

    def delete(self, key: str) -> None:
        """The pod went away or was bound: forget it."""
        self._pods.pop(key, None)
        self._unschedulable.pop(key, None)
        # Stale heap entries are skipped when popped.
        self._in_active.discard(key)
        self._in_backoff.discard(key)

    def move_all_to_active_or_backoff(self) -> None:
        """The cluster changed in a way that may make parked pods fit."""
        self._move_request_cycle = self.cycle
        parked, self._unschedulable = self._unschedulable, {}
        for key in parked:
            self._to_backoff_or_active(self._pods[key])

    # -- the scheduling loop ---------------------------------------------------

    async def pop(self) -> QueuedPod:
        while True:
            self._flush()
            while self._active:
                _, _, key = heapq.heappop(self._active)
                if key not in self._in_active:
                    continue  # deleted, or pushed again with a newer entry
                self._in_active.discard(key)
                queued = self._pods[key]
                self.cycle += 1
                queued.cycle, queued.attempts = self.cycle, queued.attempts + 1
                self._in_flight.add(key)
                return queued
            if self._closed:
                raise asyncio.CancelledError
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._next_wakeup())

    def done(self, key: str) -> None:
        """The pod was bound (or dropped): it leaves the queue."""
        self._in_flight.discard(key)
        self._pods.pop(key, None)

    def requeue_unschedulable(self, queued: QueuedPod) -> None:
        """It fits nowhere: park it, unless the cluster changed while it was
        being tried (then the change may have been missed: back off instead)."""
        self._in_flight.discard(queued.key)
        if queued.key not in self._pods:
            return  # deleted or bound meanwhile
        queued.backoff_until = clock.monotonic() + self.backoff_for(queued)
        if self._move_request_cycle >= queued.cycle:
            self._push_backoff(queued)
        else:
            queued.parked_at = clock.monotonic()
            self._unschedulable.pop(queued.key, None)  # to the end: the newest
            self._unschedulable[queued.key] = None

    def requeue_backoff(self, queued: QueuedPod) -> None:
        """A transient failure (bind conflict, API error): try again later."""
        self._in_flight.discard(queued.key)
        if queued.key in self._pods:
            queued.backoff_until = clock.monotonic() + self.backoff_for(queued)
            self._push_backoff(queued)

    def backoff_for(self, queued: QueuedPod) -> float:
        return min(self.initial_backoff * 2 ** max(queued.attempts - 1, 0), self.max_backoff)

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()

    def pending(self) -> dict[str, int]:
        return {
            "active": len(self._in_active),
            "backoff": len(self._in_backoff),
            "unschedulable": len(self._unschedulable),
        }

    # -- internals ---------------------------------------------------------------

    def _to_backoff_or_active(self, queued: QueuedPod) -> None:
        if queued.key in self._in_flight:
            return
        if queued.backoff_until > clock.monotonic():
            self._push_backoff(queued)
        else:
            self._push_active(queued.key)

    def _push_active(self, key: str) -> None:
        if key in self._in_active or key in self._in_flight:
            return
        self._in_backoff.discard(key)
        priority = self._pods[key].pod.spec.priority
        heapq.heappush(self._active, (-priority, next(self._seq), key))
        self._in_active.add(key)
        self._wakeup.set()

    def _push_backoff(self, queued: QueuedPod) -> None:
        if queued.key in self._in_active or queued.key in self._in_backoff:
            return
        heapq.heappush(self._backoff, (queued.backoff_until, next(self._seq), queued.key))
        self._in_backoff.add(queued.key)
        self._wakeup.set()

    def _flush(self) -> None:
        now = clock.monotonic()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, key = heapq.heappop(self._backoff)
            if key in self._in_backoff:
                self._in_backoff.discard(key)
                self._push_active(key)
        stale = []
        for key in self._unschedulable:  # oldest first: stop at the first still parked
            if self._pods[key].parked_at + UNSCHEDULABLE_FLUSH > now:
                break
            stale.append(key)
        for key in stale:
            del self._unschedulable[key]
            self._push_active(key)

    def _next_wakeup(self) -> float:
        now, soonest = clock.monotonic(), UNSCHEDULABLE_FLUSH
        if self._backoff:
            soonest = min(soonest, self._backoff[0][0] - now)
        if self._unschedulable:
            oldest = self._pods[next(iter(self._unschedulable))].parked_at
            soonest = min(soonest, oldest + UNSCHEDULABLE_FLUSH - now)
        return max(soonest, 0.001)
