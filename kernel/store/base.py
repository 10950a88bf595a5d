"""The store contract: what the API server needs from a key-value store.

Modelled on etcd's MVCC API, which is what Kubernetes stands on. Every write
gets the next *revision*, a number that grows across the whole store; an
object's ``mod_revision`` is its Kubernetes ``resourceVersion``.

Revisions are exclusive in watches, as in Kubernetes: ``watch(prefix, R)``
delivers every change with a revision greater than ``R``. Compaction at ``C``
forgets history at or below ``C`` (current values stay); a list at, or a watch
after, a revision below ``C`` raises :class:`CompactedError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable


class StoreError(Exception):
    """Base of every error a store raises."""


class KeyExistsError(StoreError):
    """``create`` found the key already present."""


class KeyNotFoundError(StoreError):
    """``update`` or ``delete`` found no such key."""


class RevisionConflictError(StoreError):
    """The key's ``mod_revision`` is not the one the caller expected."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"{key}: expected revision {expected}, found {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual


class CompactedError(StoreError):
    """The revision asked for was compacted away; relist and watch again."""

    def __init__(self, revision: int, compact_revision: int) -> None:
        super().__init__(
            f"revision {revision} has been compacted (oldest kept: {compact_revision})"
        )
        self.revision = revision
        self.compact_revision = compact_revision


class WatchOverflowError(StoreError):
    """A watcher fell too far behind the writes and was dropped so it would not
    hold up the others. Watch again from ``revision`` (the last event it
    received); if that raises CompactedError, relist."""

    def __init__(self, revision: int) -> None:
        super().__init__(
            f"watch fell behind and was dropped after revision {revision}; watch again from it"
        )
        self.revision = revision


class StorageFullError(StoreError):
    """The store's disk (or database quota) is full: creates and updates are
    refused until there is room; reads and deletes keep working."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "the store's disk is full: free space where the store keeps its data "
            "(deletes still work); writes resume once there is room"
            + (f" ({detail})" if detail else "")
        )


class FutureRevisionError(StoreError):
    """The revision asked for is newer than the store's current revision."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True, slots=True)
class Event:
    """One change. For ``DELETE``, ``kv.value`` is the last value before deletion
    and ``kv.mod_revision`` the revision of the delete."""

    type: Literal["CREATE", "UPDATE", "DELETE"]
    kv: KeyValue
    prev: KeyValue | None = None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass(frozen=True, slots=True)
class Author:
    """Who made a write and with which API verb (create, update, patch,
    delete...). The API server sets :data:`write_author` around a store write;
    a store that keeps history records it in the same transaction as the
    write, so the "who" of an acknowledged write is never lost."""

    user: str
    verb: str


# Read by the store in the caller's task when a write is submitted.
write_author: ContextVar[Author | None] = ContextVar("shoal_store_write_author", default=None)


@dataclass(frozen=True, slots=True)
class Revision:
    """One retained revision of a key: the change, who made it and when
    (``user``/``verb`` empty and ``time`` 0 when the write carried no author).
    For a DELETE, ``kv.value`` is the last value before the delete."""

    type: Literal["CREATE", "UPDATE", "DELETE"]
    kv: KeyValue
    user: str = ""
    verb: str = ""
    time: float = 0.0


@runtime_checkable
class HistoryStore(Protocol):
    """A store that can list the retained revisions of one key (optional:
    the object registry answers history only over such a store)."""

    async def revisions(self, key: str, after: int = 0, limit: int = 0) -> list[Revision]:
        """The retained revisions of ``key`` newer than ``after``, oldest
        first, at most ``limit`` (0: all). Compaction keeps only the newest
        revision of each key at or below the compact revision (a key deleted
        before it has none), except under a prefix the store was told to
        retain (``history_retention``: key prefix -> seconds), whose
        revisions stay that long after they were written."""

    async def deleted(self, prefix: str, start_after: str = "", limit: int = 0) -> list[Revision]:
        """The keys under ``prefix`` whose newest retained revision is a
        delete, in key order after ``start_after``, at most ``limit`` (0:
        all): each as its DELETE (revision, author, time; the value may be
        left out)."""


@runtime_checkable
class Store(Protocol):
    """What every store backend implements. All methods are coroutines; none
    blocks the event loop."""

    async def start(self) -> None:
        """Open files or connections; called once before any other method."""

    async def close(self) -> None:
        """Flush, release resources; pending watches end."""

    async def current_revision(self) -> int:
        """The revision of the newest write (0 for an empty store)."""

    async def compact_revision(self) -> int:
        """The newest revision compacted away (0 if never compacted)."""

    async def get(self, key: str) -> KeyValue | None:
        """The current value of ``key``, or None."""

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> tuple[list[KeyValue], int]:
        """Keys under ``prefix`` in key order, as they were at ``revision``
        (0: now). At most ``limit`` (0: all), starting after key ``start_after``.
        Returns the items and the revision they were read at."""

    async def create(self, key: str, value: bytes) -> KeyValue:
        """Write a new key. Raises KeyExistsError."""

    async def update(self, key: str, value: bytes, expected_revision: int) -> KeyValue:
        """Replace ``key`` if its mod_revision is ``expected_revision`` (0: any).
        Raises KeyNotFoundError or RevisionConflictError."""

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        """Remove ``key`` if its mod_revision is ``expected_revision`` (0: any).
        Returns the deleted value stamped with the delete's revision."""

    def watch(self, prefix: str, revision: int) -> AsyncIterator[Event]:
        """Every change under ``prefix`` with a revision greater than ``revision``,
        in revision order, exactly once; then live changes until the iterator is
        closed. Raises CompactedError (on first iteration) if ``revision`` is
        below the compact revision."""

    async def compact(self, revision: int) -> None:
        """Forget history at or below ``revision``; current values stay."""


# Argument checks every backend makes before a call reaches its engine, so a
# bad key fails alone (never a batch it shares a transaction with) and both
# backends word it the same.


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise StoreError(f"key must be a non-empty string, not {key!r}")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StoreError(f"key {key!r} is not valid UTF-8") from exc
    return key


def check_value(value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise StoreError(f"value must be bytes, not {type(value).__name__}")
    return bytes(value)


def check_revision(revision: int) -> None:
    if not isinstance(revision, int) or revision < 0:
        raise StoreError(f"revision must be a non-negative integer, not {revision!r}")
