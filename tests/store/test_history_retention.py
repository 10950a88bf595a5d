"""Per-kind history retention, deleted keys and paged revisions, on SQLite
and etcd alike: after compaction a retained prefix's old revisions (and its
deletes) are still listed, an unretained prefix's are gone; a retention
that has passed lets compaction drop them."""

from __future__ import annotations

import itertools
import pathlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest
from shoal.plugins.stores.etcd_store import EtcdStore
from shoal.store import Author, Store, write_author
from shoal.store.sqlite import SQLiteStore

from tests.requirements import require_etcd
from tests.store import conftest

_prefixes = itertools.count()
Factory = Callable[[Mapping[str, float]], Any]


@pytest.fixture(params=["sqlite", "etcd"])
async def open_store(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> AsyncIterator[Factory]:
    opened: list[Store] = []

    def make(retention: Mapping[str, float]) -> Any:
        store: Store
        if request.param == "sqlite":
            path = tmp_path / f"store-{len(opened)}.db"
            store = SQLiteStore(path, compact_keep=0, history_retention=retention)
        else:
            if conftest._etcd is None:
                require_etcd()
                raise AssertionError("etcd is installed, yet the session's etcd was not started")
            store = EtcdStore(
                conftest._etcd.endpoints,
                prefix=f"/retain{next(_prefixes)}/",
                compact_keep=0,
                history_retention=retention,
            )
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


async def _as(user: str, write: Callable[[], object]) -> None:
    token = write_author.set(Author(user, "update"))
    try:
        await write()  # type: ignore[misc]
    finally:
        write_author.reset(token)


async def _edits(store: Store) -> None:
    for prefix in ("keep/", "drop/"):
        await _as("alice", lambda p=prefix: store.create(f"{p}a", b"v1"))
        await _as("bob", lambda p=prefix: store.update(f"{p}a", b"v2", 0))
        await _as("alice", lambda p=prefix: store.update(f"{p}a", b"v3", 0))
        await _as("alice", lambda p=prefix: store.create(f"{p}gone", b"x"))
        await _as("carol", lambda p=prefix: store.delete(f"{p}gone"))


async def test_compaction_keeps_a_retained_prefix(open_store: Factory) -> None:
    store = open_store({"keep/": 3600.0})
    await store.start()
    await _edits(store)
    assert [r.kv.key for r in await store.deleted("drop/")] == ["drop/gone"]
    await store.compact(await store.current_revision())

    kept = await store.revisions("keep/a")
    assert [(r.user, r.kv.value) for r in kept] == [
        ("alice", b"v1"),
        ("bob", b"v2"),
        ("alice", b"v3"),
    ]
    dropped = await store.revisions("drop/a")
    assert [r.kv.value for r in dropped] == [b"v3"]  # the current value only
    gone = await store.revisions("keep/gone")
    assert [(r.type, r.user) for r in gone] == [("CREATE", "alice"), ("DELETE", "carol")]
    assert gone[-1].kv.value == b"x"
    assert await store.revisions("drop/gone") == []
    deleted = await store.deleted("keep/")
    assert [(d.kv.key, d.user) for d in deleted] == [("keep/gone", "carol")]
    assert await store.deleted("drop/") == []
    # The kept revisions change no read: a list shows the live keys only.
    items, _ = await store.list("")
    assert [(kv.key, kv.value) for kv in items] == [("drop/a", b"v3"), ("keep/a", b"v3")]


async def test_a_passed_retention_lets_compaction_drop_them(open_store: Factory) -> None:
    store = open_store({"keep/": 1e-9})  # every revision is older than this
    await store.start()
    await _edits(store)
    await store.compact(await store.current_revision())
    assert [r.kv.value for r in await store.revisions("keep/a")] == [b"v3"]
    assert await store.revisions("keep/gone") == []
    assert await store.deleted("keep/") == []


async def test_revisions_and_deleted_page(open_store: Factory) -> None:
    store = open_store({})
    await store.start()
    for n in range(5):
        await _as("alice", lambda n=n: store.create(f"d/{n}", b"x"))
        await _as("bob", lambda n=n: store.delete(f"d/{n}"))
    await _as("alice", lambda: store.create("d/live", b"0"))
    for n in range(1, 7):
        await _as("alice", lambda n=n: store.update("d/live", str(n).encode(), 0))
    everything = await store.revisions("d/live")
    assert [r.kv.value for r in everything] == [str(n).encode() for n in range(7)]
    first = await store.revisions("d/live", limit=3)
    assert first == everything[:3]
    rest = await store.revisions("d/live", after=first[-1].kv.mod_revision)
    assert rest == everything[3:]

    deleted = await store.deleted("d/", limit=2)
    assert [d.kv.key for d in deleted] == ["d/0", "d/1"]
    more = await store.deleted("d/", start_after="d/1")
    assert [(d.kv.key, d.user, d.type) for d in more] == [
        (f"d/{n}", "bob", "DELETE") for n in (2, 3, 4)
    ]
