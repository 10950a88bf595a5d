"""Store contract and the built-in SQLite store."""

from shoal.store.base import (
    Author,
    CompactedError,
    Event,
    FutureRevisionError,
    HistoryStore,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Revision,
    RevisionConflictError,
    StorageFullError,
    Store,
    StoreError,
    WatchOverflowError,
    write_author,
)

__all__ = [
    "Author",
    "CompactedError",
    "Event",
    "FutureRevisionError",
    "HistoryStore",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValue",
    "Revision",
    "RevisionConflictError",
    "StorageFullError",
    "Store",
    "StoreError",
    "WatchOverflowError",
    "write_author",
]
