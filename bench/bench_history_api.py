"""History through the API server (gRPC): paged history of one object with
10,000 revisions and the deleted objects of a namespace, each beside a plain
get or list from the same run (see ``bench_history``)."""

from __future__ import annotations

import asyncio
import pathlib
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from shoal import kinds
from shoal.apiserver import codec
from shoal.apiserver.server import APIServer, admission_chain
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.store import Author, write_author
from shoal.store.sqlite import SQLiteStore

REVISIONS = 10_000
DELETED = 5_000
PAGE = 500
REPEATS = 5


def _cm(name: str, n: int) -> bytes:
    obj = from_dict(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}"},
            "data": {"n": str(n), "pad": "x" * 400},
        }
    )
    return codec.encode(obj)


async def _fill(path: pathlib.Path) -> None:
    """One ConfigMap updated 10,000 times; 5,000 deleted, 5,000 live."""
    kind = kinds.resolve("configmaps")
    store = SQLiteStore(path, compact_keep=0)
    await store.start()
    write_author.set(Author("alice", "update"))
    key = codec.object_key(kind, "default", "busy")
    await store.create(key, _cm("busy", 0))
    for start in range(1, REVISIONS, 100):  # 100 updates share one commit
        span = range(start, min(start + 100, REVISIONS))
        await asyncio.gather(*(store.update(key, _cm("busy", n), 0) for n in span))
    for batch in range(0, DELETED, 100):
        names = [f"gone-{n:05d}" for n in range(batch, batch + 100)]
        keys = [codec.object_key(kind, "default", name) for name in names]
        await asyncio.gather(
            *(store.create(k, _cm(n, 0)) for k, n in zip(keys, names, strict=True))
        )
        await asyncio.gather(*(store.delete(k) for k in keys))
        live = [f"live-{n:05d}" for n in range(batch, batch + 100)]
        keys = [codec.object_key(kind, "live", name) for name in live]
        await asyncio.gather(*(store.create(k, _cm(n, 0)) for k, n in zip(keys, live, strict=True)))
    await store.close()


async def _median_ms(call: Callable[[], Awaitable[Any]]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        await call()
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1000, 2)


async def _all_deleted(client: Client) -> int:
    count, token = 0, ""
    while True:
        page = await client.deleted("ConfigMap", "default", PAGE, token)
        count += len(page.items)
        token = page.continue_token
        if not token:
            return count


async def api_figures(path: pathlib.Path) -> dict[str, Any]:
    await _fill(path)
    server = APIServer(
        SQLiteStore(path, compact_keep=0), store_name="sqlite", admission=admission_chain()
    )
    await server.start("127.0.0.1:0")
    try:
        async with Client(f"127.0.0.1:{server.port}") as client:
            whole = await client.history("ConfigMap", "busy", "default", page=PAGE)
            assert len(whole) == REVISIONS, len(whole)
            assert await _all_deleted(client) == DELETED
            listed = await client.list("ConfigMap", "live")
            assert len(listed.items) == DELETED
            return {
                "api_history_10k_paged_500_ms_median": await _median_ms(
                    lambda: client.history("ConfigMap", "busy", "default", page=PAGE)
                ),
                "api_history_first_page_100_ms_median": await _median_ms(
                    lambda: client.history_page("ConfigMap", "busy", "default", 100)
                ),
                "api_get_ms_median_baseline": await _median_ms(
                    lambda: client.get("ConfigMap", "busy", "default")
                ),
                "api_deleted_5k_paged_500_ms_median": await _median_ms(
                    lambda: _all_deleted(client)
                ),
                "api_list_5k_live_ms_median_baseline": await _median_ms(
                    lambda: client.list("ConfigMap", "live")
                ),
            }
    finally:
        await server.stop()
