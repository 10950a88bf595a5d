"""What is particular to the SQLite store: group commit, durability under
kill -9, reopening, in-memory fan-out, slow watchers, periodic compaction."""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from shoal.store.base import Event, StoreError, WatchOverflowError
from shoal.store.sqlite import SQLiteStore

TIMEOUT = 10.0
HELPER = pathlib.Path(__file__).with_name("kill_writer.py")


@pytest.fixture
async def sqlite_store(tmp_path: pathlib.Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "store.db", compact_keep=0)
    await store.start()
    yield store
    await store.close()


async def take(watch: AsyncIterator[Event], n: int) -> list[Event]:
    async def collect() -> list[Event]:
        return [await anext(watch) for _ in range(n)]

    return await asyncio.wait_for(collect(), TIMEOUT)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = TIMEOUT) -> None:
    """Poll an async predicate until it holds, failing after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_concurrent_writes_share_commits(sqlite_store: SQLiteStore) -> None:
    commits, writes = sqlite_store.commits, sqlite_store.writes
    kvs = await asyncio.gather(*(sqlite_store.create(f"g/{i}", b"v") for i in range(200)))
    assert len({kv.mod_revision for kv in kvs}) == 200
    assert sqlite_store.writes - writes == 200
    assert sqlite_store.commits - commits < 200


async def test_failed_precondition_fails_only_its_write(sqlite_store: SQLiteStore) -> None:
    await sqlite_store.create("dup", b"v")
    results = await asyncio.gather(
        *(sqlite_store.create(f"ok/{i}", b"v") for i in range(20)),
        sqlite_store.create("dup", b"again"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, StoreError) for r in results) == 1
    revisions = sorted(r.mod_revision for r in results if not isinstance(r, BaseException))
    assert revisions == list(range(2, 22))  # no revision spent on the failure


async def test_bad_key_fails_alone(sqlite_store: SQLiteStore) -> None:
    with pytest.raises(StoreError):
        await sqlite_store.create("", b"v")
    with pytest.raises(StoreError):
        await sqlite_store.create("bad\ud800", b"v")
    assert (await sqlite_store.create("fine", b"v")).mod_revision == 1


async def test_reopen_keeps_data_and_revisions(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path, compact_keep=0)
    await store.start()
    await store.create("a", b"1")
    gone = await store.create("b", b"1")
    await store.compact(gone.mod_revision)
    last = await store.delete("b")  # the newest log row is a delete
    await store.compact(last.mod_revision)  # ...and compaction drops it
    await store.close()

    store = SQLiteStore(path, compact_keep=0)
    await store.start()
    try:
        assert await store.current_revision() == last.mod_revision
        assert await store.compact_revision() == last.mod_revision
        assert [kv.key for kv in (await store.list(""))[0]] == ["a"]
        assert (await store.create("c", b"1")).mod_revision == last.mod_revision + 1
    finally:
        await store.close()


async def test_acknowledged_writes_survive_kill_9(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "store.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HELPER), str(path), "8", stdout=asyncio.subprocess.PIPE
    )
    acked: dict[str, int] = {}
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
        assert line == b"ready\n"
        while len(acked) < 500:
            line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
            key, rev = line.decode().split()
            acked[key] = int(rev)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = SQLiteStore(path, compact_keep=0)
    await store.start()
    try:
        items, current = await store.list("")
        stored = {kv.key: kv for kv in items}
        for key, revision in acked.items():
            assert stored[key].mod_revision == revision
            assert stored[key].value == key.encode()
        # Creates only: every revision up to the current one is exactly one key.
        assert sorted(kv.mod_revision for kv in items) == list(range(1, current + 1))
        assert current >= max(acked.values())
        assert (await store.create("after", b"x")).mod_revision == current + 1
    finally:
        await store.close()


async def test_replayed_events_equal_live_ones(sqlite_store: SQLiteStore) -> None:
    live = sqlite_store.watch("", 0)
    kv = await sqlite_store.create("e/a", b"1")
    kv = await sqlite_store.update("e/a", b"2", kv.mod_revision)
    await sqlite_store.delete("e/a", kv.mod_revision)
    await sqlite_store.create("e/a", b"3")
    live_events = await take(live, 4)
    assert live_events[1].prev is not None and live_events[1].prev.value == b"1"
    assert await take(sqlite_store.watch("", 1), 3) == live_events[1:]


async def test_fan_out_to_many_watchers_reads_no_log(sqlite_store: SQLiteStore) -> None:
    watches = [sqlite_store.watch("f/", 0) for _ in range(1000)]
    queries = sqlite_store.replay_queries
    kvs = await asyncio.gather(*(sqlite_store.create(f"f/{i}", b"v") for i in range(20)))
    expected = sorted(kv.mod_revision for kv in kvs)
    for watch in watches:
        assert [e.revision for e in await take(watch, 20)] == expected
    assert sqlite_store.replay_queries == queries


async def test_slow_watcher_is_dropped_without_holding_up_others(tmp_path: pathlib.Path) -> None:
    store = SQLiteStore(tmp_path / "store.db", compact_keep=0, watch_queue_size=10)
    await store.start()
    try:
        slow = store.watch("", 0)
        fast = store.watch("", 0)
        fast_seen: list[Event] = []
        for i in range(30):
            await store.create(f"k/{i:02d}", b"v")  # never waits on the slow watcher
            fast_seen += await take(fast, 1)
        assert [e.kv.key for e in fast_seen] == [f"k/{i:02d}" for i in range(30)]
        delivered = []
        with pytest.raises(WatchOverflowError) as err:
            async for event in slow:
                delivered.append(event)
        assert len(delivered) == 10
        assert err.value.revision == delivered[-1].revision
        # Watching again from the last revision seen picks up where it stopped.
        resumed = await take(store.watch("", err.value.revision), 20)
        assert [e.revision for e in resumed] == list(range(11, 31))
    finally:
        await store.close()


async def test_periodic_compaction_keeps_newest_revisions(tmp_path: pathlib.Path) -> None:
    store = SQLiteStore(tmp_path / "store.db", compact_interval=0.01, compact_keep=5)
    await store.start()
    try:
        kv = await store.create("k", b"0")
        for i in range(19):
            kv = await store.update("k", str(i).encode(), kv.mod_revision)

        async def compacted() -> bool:
            return await store.compact_revision() == 15

        await eventually(compacted)
        assert await store.get("k") == kv
        (event,) = await take(store.watch("", 19), 1)
        assert event.prev is not None and event.prev.mod_revision == 19
    finally:
        await store.close()


async def test_watch_ends_when_replay_meets_close(sqlite_store: SQLiteStore) -> None:
    for i in range(5):
        await sqlite_store.create(f"r/{i}", b"v")
    watch = sqlite_store.watch("r/", 1)
    await sqlite_store.close()
    with pytest.raises(StopAsyncIteration):
        await anext(watch)
    with pytest.raises(StoreError):
        sqlite_store.watch("r/", 0)
