"""Built-in plugin: the embedded SQLite store, shoal's default backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shoal import hookimpl
from shoal.registry import Registry


def sqlite_store(options: Mapping[str, Any]) -> Any:
    """``{"path": "...", "compact_interval": 300.0, "compact_keep": 10000,
    "reserve_bytes": 4 MiB}``: a server's store keeps room for deletes on a
    full disk (see ``shoal.store.sqlite_reserve``)."""
    opts = dict(options)
    if "path" not in opts:
        raise ValueError("the sqlite store needs a 'path' option")
    # Imported here so listing plugins never pays for (or breaks on) the store.
    from shoal.store.sqlite import SQLiteStore
    from shoal.store.sqlite_reserve import DEFAULT_RESERVE_BYTES

    opts.setdefault("reserve_bytes", DEFAULT_RESERVE_BYTES)

    return SQLiteStore(opts.pop("path"), **opts)


@hookimpl
def register_stores(registry: Registry[Any]) -> None:
    registry.register("sqlite", sqlite_store)
