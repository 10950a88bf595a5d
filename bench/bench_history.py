"""Object history: what recording the author of every write costs, and how
long reading one object's history takes.

(a) SQLiteStore.create with 100 concurrent writers and no author (the
baseline, same run, same machine), beside (b) the same with an author set
(``write_author``), which adds one ``history`` row per write to the write's
transaction. Rounds alternate a/b on fresh files; the median is reported.
(c) ``revisions(key)`` of one key updated 10,000 times (with authors), the
figure the issue asks for, beside (d) ``get`` of that key.

Through the API server (gRPC, insecure loopback, SQLite; ``bench_history_api``):
(e) the whole history of a ConfigMap with 10,000 revisions read in pages of
500, and (f) its first page of 100, beside (g) a ``get`` of it; (h) the
deleted ConfigMaps of a namespace where 5,000 were deleted (``ListDeleted``,
pages of 500), beside (i) a ``list`` of 5,000 live ConfigMaps.
"""

from __future__ import annotations

import asyncio
import pathlib
import statistics
import tempfile
import time
from typing import Any

from shoal.store import Author, write_author
from shoal.store.sqlite import SQLiteStore

from bench.bench_history_api import api_figures

PHASE_SECONDS = 2.0
ROUNDS = 3
WRITERS = 100
REVISIONS = 10_000
VALUE = b"x" * 512  # about a small pod's JSON


async def creates_per_second(path: pathlib.Path, author: Author | None) -> float:
    store = SQLiteStore(path, compact_keep=0)
    await store.start()
    count = 0
    deadline = time.perf_counter() + PHASE_SECONDS

    async def writer(n: int) -> None:
        nonlocal count
        write_author.set(author)  # this task's context only
        i = 0
        while time.perf_counter() < deadline:
            await store.create(f"pods/w{n}-{i}", VALUE)
            i += 1
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    elapsed = time.perf_counter() - started
    await store.close()
    return count / elapsed


async def history_query(path: pathlib.Path) -> dict[str, float]:
    store = SQLiteStore(path, compact_keep=0)
    await store.start()
    write_author.set(Author("alice", "update"))
    await store.create("deployments/default/web", VALUE)
    left = REVISIONS - 1
    while left:  # 100 concurrent updates share one commit (group commit)
        n = min(100, left)
        await asyncio.gather(*(store.update("deployments/default/web", VALUE, 0) for _ in range(n)))
        left -= n
    timings, gets = [], []
    for _ in range(5):
        started = time.perf_counter()
        revs = await store.revisions("deployments/default/web")
        timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        await store.get("deployments/default/web")
        gets.append(time.perf_counter() - started)
    await store.close()
    assert len(revs) == REVISIONS
    return {
        "revisions": REVISIONS,
        "history_query_ms_median": round(statistics.median(timings) * 1000, 2),
        "get_ms_median_baseline": round(statistics.median(gets) * 1000, 3),
    }


async def _run() -> dict[str, Any]:
    plain: list[float] = []
    authored: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(ROUNDS):
            plain.append(await creates_per_second(pathlib.Path(tmp, f"a{r}.db"), None))
            who = Author("system:admin", "create")
            authored.append(await creates_per_second(pathlib.Path(tmp, f"b{r}.db"), who))
        query = await history_query(pathlib.Path(tmp, "h.db"))
        api = await api_figures(pathlib.Path(tmp, "api.db"))
    base, with_author = statistics.median(plain), statistics.median(authored)
    return {
        "creates_per_s_no_author_baseline": round(base),
        "creates_per_s_with_author": round(with_author),
        "ratio_with_author": round(with_author / base, 3),
        "rounds": {
            "no_author": [round(x) for x in plain],
            "with_author": [round(x) for x in authored],
        },
        **query,
        **api,
    }


def run() -> dict[str, Any]:
    figures = asyncio.run(_run())
    for name, value in figures.items():
        print(f"   {name}: {value}")
    return figures
