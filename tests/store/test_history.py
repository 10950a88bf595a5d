"""Object history in the SQLite store: the author set in ``write_author`` is
recorded with the write in its transaction, kept across a restart, listed by
``revisions`` and forgotten with its row at compaction."""

from __future__ import annotations

import pathlib
import sqlite3

from shoal.store import Author, HistoryStore, Store, write_author
from shoal.store.sqlite import SQLiteStore


async def _open(path: pathlib.Path) -> SQLiteStore:
    store = SQLiteStore(path, compact_keep=0)
    await store.start()
    return store


async def _write_as(user: str, verb: str, coro_fn: object) -> None:
    token = write_author.set(Author(user, verb))
    try:
        await coro_fn()  # type: ignore[operator]
    finally:
        write_author.reset(token)


async def test_revisions_carry_their_authors_across_a_restart(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "store.db"
    store = await _open(path)
    await _write_as("alice", "create", lambda: store.create("d/web", b"v1"))
    await store.create("d/other", b"x")  # no author: recorded as unknown
    await _write_as("bob", "patch", lambda: store.update("d/web", b"v2", 0))
    await _write_as("alice", "delete", lambda: store.delete("d/web"))
    await store.close()

    store = await _open(path)
    try:
        revs = await store.revisions("d/web")
        assert [(r.type, r.user, r.verb, r.kv.value) for r in revs] == [
            ("CREATE", "alice", "create", b"v1"),
            ("UPDATE", "bob", "patch", b"v2"),
            ("DELETE", "alice", "delete", b"v2"),
        ]
        assert all(r.time > 0 for r in revs)
        assert revs[0].kv.mod_revision < revs[1].kv.mod_revision < revs[2].kv.mod_revision
        other = await store.revisions("d/other")
        assert [(o.user, o.verb, o.time) for o in other] == [("", "", 0.0)]
    finally:
        await store.close()


async def test_compaction_forgets_authors_with_their_rows(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "store.db"
    store = await _open(path)
    try:
        await _write_as("alice", "create", lambda: store.create("d/web", b"v1"))
        await _write_as("bob", "update", lambda: store.update("d/web", b"v2", 0))
        await _write_as("bob", "create", lambda: store.create("d/gone", b"x"))
        await _write_as("bob", "delete", lambda: store.delete("d/gone"))
        await _write_as("carol", "update", lambda: store.update("d/web", b"v3", 0))
        await store.compact(await store.current_revision())
        revs = await store.revisions("d/web")
        assert [(r.user, r.kv.value) for r in revs] == [("carol", b"v3")]
        assert await store.revisions("d/gone") == []
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:  # no author outlives its row
        orphans = conn.execute(
            "SELECT COUNT(*) FROM history WHERE rev NOT IN (SELECT rev FROM log)"
        ).fetchone()[0]
    assert orphans == 0


async def test_every_backend_lists_authored_revisions(store: Store) -> None:
    """SQLite and etcd alike: authored writes with their users, oldest
    first, the delete included; compaction forgets superseded revisions."""
    assert isinstance(store, HistoryStore)
    await _write_as("alice", "create", lambda: store.create("d/web", b"v1"))
    await _write_as("bob", "update", lambda: store.update("d/web", b"v2", 0))
    await _write_as("alice", "delete", lambda: store.delete("d/web"))
    await _write_as("carol", "create", lambda: store.create("d/web", b"v3"))
    revs = await store.revisions("d/web")
    assert [(r.type, r.user, r.verb, r.kv.value) for r in revs] == [
        ("CREATE", "alice", "create", b"v1"),
        ("UPDATE", "bob", "update", b"v2"),
        ("DELETE", "alice", "delete", b"v2"),
        ("CREATE", "carol", "create", b"v3"),
    ]
    revisions = [r.kv.mod_revision for r in revs]
    assert revisions == sorted(revisions) and all(r.time > 0 for r in revs)
    await _write_as("dave", "update", lambda: store.update("d/web", b"v4", 0))
    await store.compact(await store.current_revision())
    assert [(r.user, r.kv.value) for r in await store.revisions("d/web")] == [("dave", b"v4")]
    # The author records live outside the store's keys: never listed or watched.
    items, _ = await store.list("")
    assert [kv.key for kv in items] == ["d/web"]
