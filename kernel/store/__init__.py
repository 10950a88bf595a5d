"""Store contract and the built-in SQLite store."""

from shoal.store.base import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionConflictError,
    Store,
    StorageFullError,
    StoreError,
    WatchOverflowError,
)

__all__ = [
    "CompactedError",
    "Event",
    "FutureRevisionError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValue",
    "RevisionConflictError",
    "Store",
    "StorageFullError",
    "StoreError",
    "WatchOverflowError",
]
