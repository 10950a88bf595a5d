"""Store writes: SQLiteStore.create against raw sqlite3 at the same durability.

Baseline (a): raw sqlite3, WAL, synchronous=FULL, one transaction (one fsync)
per insert into a table shaped like the store's log. Reference (b): the same
with 100 inserts per transaction, roughly the ceiling group commit can reach.
Then (c) SQLiteStore.create with 1 writer and with 100 concurrent writers.
Every figure is printed beside the baseline as a ratio.
"""

from __future__ import annotations

import asyncio
import pathlib
import sqlite3
import statistics
import tempfile
import time
from typing import Any

from shoal.store.sqlite import SQLiteStore

PHASE_SECONDS = 3.0
VALUE = b"x" * 512  # about a small pod's JSON

TABLE = """
CREATE TABLE log (rev INTEGER PRIMARY KEY, key TEXT NOT NULL, kind INTEGER NOT NULL,
    create_rev INTEGER NOT NULL, prev_rev INTEGER NOT NULL, value BLOB NOT NULL);
CREATE INDEX log_key_rev ON log (key, rev);
"""


def raw_inserts_per_second(path: pathlib.Path, per_txn: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(TABLE)
    rev = 0
    started = time.perf_counter()
    while time.perf_counter() - started < PHASE_SECONDS:
        conn.execute("BEGIN")
        for _ in range(per_txn):
            rev += 1
            conn.execute(
                "INSERT INTO log VALUES (?, ?, 0, ?, 0, ?)", (rev, f"pods/p{rev}", rev, VALUE)
            )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return rev / elapsed


async def store_creates(path: pathlib.Path, writers: int) -> dict[str, float]:
    store = SQLiteStore(path, compact_keep=0)
    await store.start()
    latencies: list[float] = []
    deadline = time.perf_counter() + PHASE_SECONDS

    async def writer(n: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            await store.create(f"pods/w{n}/p{i}", VALUE)
            latencies.append(time.perf_counter() - t0)
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(writers)))
    elapsed = time.perf_counter() - started
    commits, writes = store.commits, store.writes
    await store.close()
    latencies.sort()
    return {
        "creates_per_s": writes / elapsed,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1e3,
        "commits_per_write": commits / writes,
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shoal-bench-") as tmp:
        d = pathlib.Path(tmp)
        baseline = raw_inserts_per_second(d / "raw1.db", 1)
        batched = raw_inserts_per_second(d / "raw100.db", 100)
        one = asyncio.run(store_creates(d / "store1.db", 1))
        many = asyncio.run(store_creates(d / "store100.db", 100))

    print(f"   (a) raw sqlite3, 1 insert/txn (baseline): {baseline:10.0f} inserts/s")
    print(
        f"   (b) raw sqlite3, 100 inserts/txn:         {batched:10.0f} inserts/s"
        f"  ({batched / baseline:.2f}x baseline)"
    )
    for name, fig in (("1 writer", one), ("100 writers", many)):
        print(
            f"   (c) SQLiteStore.create, {name:11s}:   {fig['creates_per_s']:10.0f} creates/s"
            f"  ({fig['creates_per_s'] / baseline:.2f}x baseline)"
            f"  p50 {fig['p50_ms']:.2f} ms  p99 {fig['p99_ms']:.2f} ms"
            f"  commits/write {fig['commits_per_write']:.3f}"
        )
    return {
        "raw_1_per_txn_inserts_per_s": baseline,
        "raw_100_per_txn_inserts_per_s": batched,
        "raw_100_per_txn_ratio": batched / baseline,
        "store_1_writer": {**one, "ratio": one["creates_per_s"] / baseline},
        "store_100_writers": {**many, "ratio": many["creates_per_s"] / baseline},
    }
