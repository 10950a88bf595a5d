"""Backups of the store: ``shoal snapshot save`` / ``restore``.

Two snapshot formats, told apart by their first bytes:

- **SQLite** (the sqlite store): a copy of the database made with SQLite's
  online backup API, consistent at one commit while the server keeps
  writing. Restored into an empty data dir it is the same database, revisions
  and all.
- **key dump** (any other store, e.g. etcd): every key and value under the
  store's prefix, read with one range *at one revision* so the dump is
  consistent; JSON lines after a header line. Restoring writes the keys into
  an empty store; revisions are the target's own, as after an etcd restore
  into a new cluster, so clients relist (their old resourceVersions are gone).

Either format restores into either store.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pathlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from shoal.store import Store, StoreError
from shoal.store.lock import StoreLock

SQLITE_MAGIC = b"SQLite format 3\0"
DUMP_FORMAT = "shoal-store-dump/v1"
PAGE = 500


class SnapshotError(Exception):
    """A snapshot cannot be read, written or restored; the message says why."""


@dataclass
class SnapshotInfo:
    path: pathlib.Path
    format: str  # "sqlite" or "dump"
    keys: int
    revision: int


def save_sqlite(db: pathlib.Path, out: pathlib.Path) -> SnapshotInfo:
    """Back up a live SQLite store file to ``out`` (written atomically)."""
    if not db.exists():
        raise SnapshotError(f"no store at {db} (is --data-dir right?)")
    tmp = out.with_name(out.name + ".partial")
    try:
        source = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            _private(tmp)
            target = sqlite3.connect(tmp)
            with target:
                source.backup(target)
            target.close()
        finally:
            source.close()
        info = _sqlite_info(tmp, out)
        os.replace(tmp, out)
    except sqlite3.Error as err:
        tmp.unlink(missing_ok=True)
        raise SnapshotError(f"cannot back up {db}: {err}") from None
    return info


def _private(path: pathlib.Path) -> None:
    """A snapshot holds every object: readable by its owner only, from the first byte."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_info(db: pathlib.Path, named: pathlib.Path) -> SnapshotInfo:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (keys,) = conn.execute("SELECT count(*) FROM current").fetchone()
        (rev,) = conn.execute("SELECT value FROM meta WHERE name = 'rev'").fetchone()
    finally:
        conn.close()
    return SnapshotInfo(named, "sqlite", int(keys), int(rev))


async def save_dump(store: Store, out: pathlib.Path) -> SnapshotInfo:
    """Every key of a started store, at one revision, to ``out``."""
    revision = await store.current_revision()
    tmp = out.with_name(out.name + ".partial")
    count = 0
    _private(tmp)
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps({"format": DUMP_FORMAT, "revision": revision}) + "\n")
        after = ""
        while True:
            page, _ = await store.list("", revision, limit=PAGE, start_after=after)
            for kv in page:
                value = base64.b64encode(kv.value).decode()
                f.write(json.dumps({"key": kv.key, "value": value}) + "\n")
            count += len(page)
            if len(page) < PAGE:
                break
            after = page[-1].key
    os.replace(tmp, out)
    return SnapshotInfo(out, "dump", count, revision)


def snapshot_format(path: pathlib.Path) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as err:
        raise SnapshotError(f"cannot read {path}: {err.strerror}") from None
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head.startswith(b"{"):
        return "dump"
    raise SnapshotError(f"{path} is not a shoal snapshot")


def read_items(path: pathlib.Path) -> Iterator[tuple[str, bytes]]:
    """The keys and values of a snapshot of either format."""
    if snapshot_format(path) == "sqlite":
        yield from _sqlite_items(path)
    else:
        yield from _dump_items(path)


def _sqlite_items(path: pathlib.Path) -> Iterator[tuple[str, bytes]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield from conn.execute("SELECT key, value FROM current ORDER BY key")
    except sqlite3.Error as err:
        raise SnapshotError(f"{path} is not a shoal SQLite store: {err}") from None
    finally:
        conn.close()


def _dump_items(path: pathlib.Path) -> Iterator[tuple[str, bytes]]:
    with open(path, encoding="utf-8") as f:
        try:
            header = json.loads(f.readline())
            if header.get("format") != DUMP_FORMAT:
                raise SnapshotError(f"{path}: unknown snapshot format {header.get('format')!r}")
            for line in f:
                item = json.loads(line)
                yield item["key"], base64.b64decode(item["value"])
        except (ValueError, KeyError, TypeError) as err:
            raise SnapshotError(f"{path} is damaged ({err})") from None


def restore_sqlite_file(snapshot: pathlib.Path, db: pathlib.Path) -> SnapshotInfo:
    """A SQLite snapshot becomes the store file of a fresh data dir.

    Under the store's lock, so a server on that data dir refuses to start
    meanwhile and a running one makes the restore refuse (naming its pid)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with StoreLock(db):
        if db.exists():
            raise SnapshotError(f"{db} exists: restore into an empty data dir")
        info = _sqlite_info(snapshot, db)
        save_sqlite(snapshot, db)
    return info


async def restore_items(snapshot: pathlib.Path, store: Store) -> SnapshotInfo:
    """Write every key of ``snapshot`` into a started, empty ``store``."""
    existing, _ = await store.list("", limit=1)
    if existing:
        raise SnapshotError("the target store is not empty: restore into a fresh one")
    count = 0
    batch: list[tuple[str, bytes]] = []
    for item in read_items(snapshot):
        batch.append(item)
        if len(batch) == 64:
            count += await _create_all(store, batch)
            batch = []
    count += await _create_all(store, batch)
    return SnapshotInfo(snapshot, snapshot_format(snapshot), count, await store.current_revision())


async def _create_all(store: Store, items: list[tuple[str, bytes]]) -> int:
    try:
        await asyncio.gather(*(store.create(key, value) for key, value in items))
    except StoreError as err:
        raise SnapshotError(f"restore failed: {err}") from None
    return len(items)
