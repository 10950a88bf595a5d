"""Store contract and the built-in SQLite store."""

from shoal.store.base import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionConflictError,
    StorageFullError,
    Store,
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
    "StorageFullError",
    "Store",
    "StoreError",
    "WatchOverflowError",
]
