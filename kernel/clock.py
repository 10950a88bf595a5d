"""The one wall clock and monotonic clock the control plane reads.

Timestamps the kernel, controllers, scheduler and agent write (creation and
deletion times, heartbeats, taints' ``timeAdded``, conditions) and the spans
they measure (grace periods, back-offs, tolerations) come from here rather
than from :func:`time.time` / :func:`time.monotonic` directly, so that
``shoal simulate`` can run the real control plane on a virtual clock
(:func:`install`). Outside a simulation these are the real clocks.

Security code (token and certificate lifetimes) keeps the real clock on
purpose: a simulation must not make a credential look older or younger.
"""

from __future__ import annotations

import contextlib
import time as _time
from collections.abc import Callable, Iterator

from google.protobuf.timestamp_pb2 import Timestamp

__all__ = ["install", "monotonic", "now_stamp", "time", "time_ns"]

_wall: Callable[[], float] = _time.time
_mono: Callable[[], float] = _time.monotonic


def time() -> float:
    """Seconds since the epoch (virtual in a simulation)."""
    return _wall()


def time_ns() -> int:
    return int(_wall() * 1e9) if _wall is not _time.time else _time.time_ns()


def monotonic() -> float:
    """A clock for spans of time (virtual in a simulation)."""
    return _mono()


def now_stamp(*, whole_seconds: bool = False) -> Timestamp:
    """Now as a protobuf Timestamp (Kubernetes' metav1.Time keeps whole
    seconds: ``whole_seconds``)."""
    if whole_seconds:
        return Timestamp(seconds=int(_wall()))
    stamp = Timestamp()
    stamp.FromNanoseconds(time_ns())
    return stamp


@contextlib.contextmanager
def install(wall: Callable[[], float], mono: Callable[[], float]) -> Iterator[None]:
    """Use these clocks until the block ends (one at a time per process)."""
    global _wall, _mono
    before = (_wall, _mono)
    _wall, _mono = wall, mono
    try:
        yield
    finally:
        _wall, _mono = before
