"""Compaction of the SQLite store in small steps: writes are committed between
the steps, and a read at a revision is either exact or refused as compacted,
whichever step the compaction has reached."""

from __future__ import annotations

import asyncio
import pathlib
import sqlite3
from collections.abc import AsyncIterator

import pytest
from shoal.store import sqlite_compact
from shoal.store import sqlite_schema as schema
from shoal.store.base import CompactedError, KeyValue, StoreError
from shoal.store.sqlite import SQLiteStore
from shoal.store.sqlite_compact import Compaction

from tests.store.test_sqlite import eventually, take

KEYS = 20


async def _open(path: pathlib.Path, batch: int) -> SQLiteStore:
    store = SQLiteStore(path, compact_keep=0, compact_batch=batch)
    await store.start()
    return store


@pytest.fixture
async def stepwise(tmp_path: pathlib.Path) -> AsyncIterator[SQLiteStore]:
    store = await _open(tmp_path / "store.db", batch=10)
    yield store
    await store.close()


async def _history(store: SQLiteStore, rounds: int) -> int:
    """Creates, updates and deletes over KEYS keys, ``rounds`` revisions each
    round (concurrent, so group commit keeps it quick); the last revision."""
    for i in range(KEYS):
        await store.create(f"h/{i:02d}", b"0")
    for r in range(rounds):
        writes = [store.update(f"h/{i:02d}", str(r).encode(), 0) for i in range(KEYS)]
        await asyncio.gather(*writes)
        if r % 7 == 3:  # deletes and re-creates, so compaction drops delete rows
            await store.delete(f"h/{r % KEYS:02d}")
            await store.create(f"h/{r % KEYS:02d}", b"again")
    return await store.current_revision()


async def test_write_during_compaction_completes_before_it_finishes(
    stepwise: SQLiteStore,
) -> None:
    last = await _history(stepwise, 250)  # about 500 steps of 10 revisions
    order: list[str] = []

    async def compact() -> None:
        await stepwise.compact(last)
        order.append("compacted")

    async def write() -> tuple[KeyValue, int]:
        kv = await stepwise.create("other", b"v")
        order.append("written")
        return kv, await stepwise.compact_revision()

    compaction = asyncio.create_task(compact())
    writing = asyncio.create_task(write())  # queued just behind the compaction
    kv, compacted_when_written = await writing
    await compaction
    assert order == ["written", "compacted"]
    assert compacted_when_written < last  # the write did not wait for the end
    assert kv.mod_revision == last + 1
    assert await stepwise.compact_revision() == last
    assert await stepwise.get("other") == kv


async def test_reads_during_compaction_are_exact_or_compacted(tmp_path: pathlib.Path) -> None:
    store = await _open(tmp_path / "store.db", batch=3)
    try:
        last = await _history(store, 40)
        expected = {r: (await store.list("h/", r))[0] for r in range(1, last + 1)}
        target = last - 5
        compaction = asyncio.create_task(store.compact(target))
        seen = {"exact": 0, "compacted": 0}
        while not compaction.done():
            for r in range(1, last + 1, 17):
                try:
                    items, at = await store.list("h/", r)
                except CompactedError as err:
                    assert err.compact_revision > r  # refused only once it is gone
                    seen["compacted"] += 1
                    continue
                assert (items, at) == (expected[r], r)
                seen["exact"] += 1
        await compaction
        assert seen["exact"] + seen["compacted"] > 0
        for r in range(target, last + 1):
            assert await store.list("h/", r) == (expected[r], r)
        with pytest.raises(CompactedError):
            await store.list("h/", target - 1)
    finally:
        await store.close()


async def test_watch_after_stepwise_compaction_replays_exactly(stepwise: SQLiteStore) -> None:
    last = await _history(stepwise, 30)
    before = await take(stepwise.watch("h/", last - 40), 40)
    await stepwise.compact(last - 40)
    assert await take(stepwise.watch("h/", last - 40), 40) == before
    with pytest.raises(CompactedError):
        await anext(stepwise.watch("h/", last - 41))


async def test_overlapping_compactions_each_complete(stepwise: SQLiteStore) -> None:
    last = await _history(stepwise, 30)
    await asyncio.gather(stepwise.compact(last // 3), stepwise.compact(last // 2))
    assert await stepwise.compact_revision() == last // 2
    await stepwise.compact(last // 3)  # already done: a no-op
    assert await stepwise.compact_revision() == last // 2


async def test_close_during_compaction_keeps_a_consistent_partial_log(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "store.db"
    store = await _open(path, batch=1)
    last = await _history(store, 100)
    expected = {r: (await store.list("h/", r))[0] for r in range(1, last + 1)}
    compaction = asyncio.create_task(store.compact(last))

    async def started() -> bool:
        await asyncio.sleep(0.001)
        return await store.compact_revision() > 1  # revision 0 would mean "now" below

    await eventually(started)
    await store.close()
    with pytest.raises(StoreError, match="closed during compaction"):
        await compaction

    store = await _open(path, batch=1)
    try:
        reached = await store.compact_revision()
        assert 1 < reached < last
        for r in range(reached, last + 1):
            assert await store.list("h/", r) == (expected[r], r)
        with pytest.raises(CompactedError):
            await store.list("h/", reached - 1)
        await store.compact(last)  # picks up where it stopped
        assert await store.list("h/") == (expected[last], last)
    finally:
        await store.close()


async def test_each_step_checkpoints_itself_and_writes_stay_fsynced(
    tmp_path: pathlib.Path,
) -> None:
    """A step commits without an fsync and then copies its pages into the
    database file itself, on the writer's connection: the next write pays
    for none of it, and no checkpoint runs beside the writer. The writes
    between steps stay fsynced (synchronous=FULL) and SQLite's own
    checkpoint threshold is left as it is."""
    path = tmp_path / "store.db"
    store = await _open(path, batch=1)
    last = await _history(store, 3)
    await store.close()
    conn = schema.connect(path, writer=True)
    compaction = Compaction(path, batch=5)
    compaction.request(last, asyncio.get_running_loop().create_future())
    after_steps = []
    reached = 0
    try:
        while compaction.pending:
            reached = compaction.step(conn, reached)
            compaction.reached(reached)
            # The database file alone, without its WAL, has the step in it.
            copy = tmp_path / "copy.db"
            copy.write_bytes(path.read_bytes())
            alone = sqlite3.connect(copy)
            try:
                in_file = schema.read_meta(alone)[1]
            finally:
                alone.close()
                copy.unlink()
            after_steps.append(
                (
                    in_file,
                    conn.execute("PRAGMA synchronous").fetchone()[0],
                    conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
                )
            )
    finally:
        conn.close()
    full = 2
    assert len(after_steps) > 2
    assert [compact for compact, _, _ in after_steps] == [*range(5, last, 5), last]
    assert all((sync, threshold) == (full, 1000) for _, sync, threshold in after_steps)
    assert reached == last


class _Ticks:
    """A clock that moves ``tick`` seconds each time it is read."""

    def __init__(self, tick: float) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


async def _step_sizes(path: pathlib.Path, budget: float, tick: float) -> tuple[list[int], int]:
    """The revisions each step of a whole compaction covered, and the last revision."""
    store = await _open(path, batch=0)
    last = await _history(store, 20)
    await store.close()
    conn = schema.connect(path, writer=True)
    compaction = Compaction(path, batch=1000, budget=budget, clock=_Ticks(tick))
    compaction.request(last, asyncio.get_running_loop().create_future())
    sizes, reached = [], 0
    try:
        while compaction.pending:
            stepped = compaction.step(conn, reached)
            sizes.append(stepped - reached)
            reached = stepped
            compaction.reached(reached)
    finally:
        conn.close()
    return sizes, last


async def test_a_step_ends_once_its_time_budget_is_spent(tmp_path: pathlib.Path) -> None:
    # The clock moves 1 ms per reading; a step reads it when it begins, after
    # each chunk and after its commit. With a budget of 5 ms and an allowance
    # of 1,000 revisions, the first step takes chunks until 5 ms have passed.
    path = tmp_path / "store.db"
    store = await _open(path, batch=0)
    last = await _history(store, 20)
    await store.close()
    conn = schema.connect(path, writer=True)
    compaction = Compaction(path, batch=1000, budget=0.005, clock=_Ticks(0.001))
    compaction.allowance = 1000
    compaction.request(last, asyncio.get_running_loop().create_future())
    try:
        reached = compaction.step(conn, 0)
    finally:
        conn.close()
    assert reached == 5 * sqlite_compact.CHUNK  # read at 2, 3, 4, 5, 6 ms: 5 ms spent
    # 6 ms for 100 revisions, commit included: the next step may take 83.
    assert compaction.allowance == int(0.005 * reached / 0.006)


async def test_steps_learn_how_many_revisions_fit_the_budget(tmp_path: pathlib.Path) -> None:
    sizes, last = await _step_sizes(tmp_path / "store.db", budget=0.005, tick=0.002)
    chunk = sqlite_compact.CHUNK
    assert sum(sizes) == last
    # A step reads the clock when it begins, after each chunk and after its
    # commit, 2 ms apart. The first takes its first allowance, one chunk, in
    # 4 ms: 25 revisions would fit 5 ms. Taking 25 (two chunks) costs 6 ms:
    # 20 fit. So the allowance swings between 20 and 25 (24: float rounding).
    assert sizes[0] == chunk
    assert all(chunk <= size <= chunk * 5 // 4 for size in sizes[:-1])
    assert max(sizes) > chunk  # it did learn
    assert 0 < sizes[-1] <= chunk * 5 // 4


async def test_the_allowance_at_most_doubles_from_step_to_step(tmp_path: pathlib.Path) -> None:
    # Steps that take no time at all would fit any number of revisions;
    # the allowance still grows only twofold per step, up to the batch.
    sizes, last = await _step_sizes(tmp_path / "store.db", budget=0.005, tick=1e-9)
    chunk = sqlite_compact.CHUNK
    assert sum(sizes) == last
    assert sizes[:4] == [chunk, 2 * chunk, 4 * chunk, 8 * chunk]


async def test_without_a_budget_a_step_takes_its_whole_batch(tmp_path: pathlib.Path) -> None:
    sizes, last = await _step_sizes(tmp_path / "store.db", budget=0, tick=0.002)
    assert sizes == [last]  # fewer than 1,000 revisions: one step


async def test_time_bounded_steps_keep_reads_exact(tmp_path: pathlib.Path) -> None:
    store = SQLiteStore(
        tmp_path / "store.db", compact_keep=0, compact_batch=1000, compact_budget=1e-9
    )
    await store.start()
    try:
        last = await _history(store, 20)
        expected = {r: (await store.list("h/", r))[0] for r in range(last - 30, last + 1)}
        await store.compact(last - 30)  # one chunk per step: many steps
        assert await store.compact_revision() == last - 30
        for r, items in expected.items():
            assert await store.list("h/", r) == (items, r)
        with pytest.raises(CompactedError):
            await store.list("h/", last - 31)
    finally:
        await store.close()
