"""API create throughput and latency, the RPC floor, and watch fan-out.

Baselines measured in the same run:
- raw sqlite3 inserts at the store's durability (WAL, synchronous=FULL, one
  transaction and fsync per insert): what a create costs at the bottom;
- an empty gRPC call (Discovery.Version) through the same server stack: what
  any RPC costs at the top;
- for the watch streams' memory on the server: a real etcd member's RSS per
  Watch stream, the same number of streams (``etcd_watches``).

Watch fan-out: STREAMS watches, each confirmed live (it delivered a sentinel
write, replayed from the version it started at) before the timed writes
start and before the server's memory is read.
The server runs in its own process; the load comes from this one.
"""

from __future__ import annotations

import asyncio
import pathlib
import statistics
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from shoal.api.v1 import api_pb2, core_pb2
from shoal.client import Client

from bench.bench_store import raw_inserts_per_second
from bench.etcd_watches import etcd_memory_per_stream_kb
from bench.server_process import ServerProcess

PHASE_SECONDS = 4.0
STREAMS = 1000
SENTINEL = b"sentinel"  # the name of the write that shows a watch stream is live
API_ONLY = ("--controllers", "-")  # the API alone: no scheduler acting on the pods


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def make_pod(name: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.labels["app"] = "bench"
    c = pod.spec.containers.add(name="main", image="busybox:1.36")
    c.resources.requests["cpu"] = "100m"
    return pod


async def closed_loop(workers: int, call: Any, pinned: Sequence[Any] = ()) -> dict[str, float]:
    """``workers`` tasks each calling ``call(i)`` back to back for the phase;
    with ``pinned`` (clients), worker w calls ``call(i, pinned[w % len])``:
    each worker an independent client on a connection of its own."""
    latencies: list[float] = []
    deadline = time.perf_counter() + PHASE_SECONDS
    counter = iter(range(10**9))

    async def worker(w: int) -> None:
        extra = (pinned[w % len(pinned)],) if pinned else ()
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call(next(counter), *extra)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    elapsed = time.perf_counter() - started
    return {
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def clients(address: str, count: int) -> list[Client]:
    return [Client(address) for _ in range(count)]


async def throughput(address: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    pool = await clients(address, 4)
    for workers in (1, 100):

        async def create(i: int, w: int = workers) -> None:
            await pool[i % len(pool)].create(make_pod(f"c{w}-{i}"))

        async def empty(i: int) -> None:
            await pool[i % len(pool)].version()

        results[f"empty_rpc_{workers}"] = await closed_loop(workers, empty)
        results[f"create_{workers}"] = await closed_loop(workers, create)
    for client in pool:
        await client.close()
    return results


async def fan_out(
    address: str,
    server: ServerProcess,
    streams: int,
    writes_per_second: float,
    seconds: float,
    spread: bool,
) -> dict[str, Any]:
    """``streams`` watches; each write reaches all of them (or, with
    ``spread``, the one watching its namespace). Latency: from just before
    the create call to delivery on each stream."""
    pool = await clients(address, 8)
    namespaces = [f"ns{i}" for i in range(streams)] if spread else ["default"]
    admin = pool[0]
    if spread:
        for ns in namespaces:
            obj = core_pb2.Namespace()
            obj.metadata.name = ns
            await admin.create(obj)
    rv = (await admin.list("configmaps")).resource_version
    await _write_sentinels(admin, namespaces)  # after rv: each watch replays its own
    rss_before = server.rss_bytes()
    sent: dict[str, float] = {}
    latencies: list[float] = []
    established = [asyncio.Event() for _ in range(streams)]

    async def watch(i: int) -> None:
        ns = namespaces[i % len(namespaces)] if spread else ""
        call = pool[i % len(pool)]._objects.Watch(
            api_pb2.WatchRequest(kind="configmaps", namespace=ns, resource_version=rv)
        )
        async for response in call:
            arrived = time.perf_counter()
            for event in response.events:
                raw = event.object.value  # raw bytes: no decode on the client
                if SENTINEL in raw:
                    established[i].set()
                    continue
                key = _name_in(raw)
                if key in sent:
                    latencies.append(arrived - sent[key])

    tasks = [asyncio.create_task(watch(i)) for i in range(streams)]
    await _until_established(established)
    rss_streams = server.rss_bytes()
    cpu_before = server.cpu_seconds()
    writes: list[asyncio.Future[Any]] = []
    interval = 1.0 / writes_per_second
    total = int(seconds * writes_per_second)
    started = time.perf_counter()
    for i in range(total):
        name = f"w{i:06d}"
        cm = core_pb2.ConfigMap()
        cm.metadata.name = name
        cm.metadata.namespace = namespaces[i % len(namespaces)]
        sent[name] = time.perf_counter()
        writes.append(asyncio.ensure_future(pool[i % len(pool)].create(cm)))
        await asyncio.sleep(max(0.0, started + (i + 1) * interval - time.perf_counter()))
    expected = total * (1 if spread else streams)
    deadline = time.perf_counter() + 30
    while len(latencies) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    cpu = server.cpu_seconds() - cpu_before
    await asyncio.gather(*writes)
    for task in tasks:
        task.cancel()
    for client in pool:
        await client.close()
    return {
        "streams": streams,
        "writes_per_second": writes_per_second,
        "deliveries_expected": expected,
        "deliveries_seen": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else None,
        "p99_ms": percentile(latencies, 0.99) * 1000 if latencies else None,
        "server_memory_per_stream_kb": (rss_streams - rss_before) / streams / 1024,
        "server_cpu_seconds": cpu,
    }


async def _write_sentinels(admin: Client, namespaces: list[str]) -> None:
    """One sentinel write in each watched namespace, after the version the
    watches start from: a stream that delivered it is registered on the
    server and caught up, so every timed write goes to live streams. Written
    before the server's memory is first read, so it is not counted per stream."""
    for ns in namespaces:
        cm = core_pb2.ConfigMap()
        cm.metadata.name, cm.metadata.namespace = SENTINEL.decode(), ns
        await admin.create(cm)


async def _until_established(established: list[asyncio.Event], timeout: float = 120) -> None:
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in established)), timeout)
    except TimeoutError:
        done = sum(e.is_set() for e in established)
        raise TimeoutError(f"{done} of {len(established)} watches established") from None


def _name_in(raw: bytes) -> str:
    """The ConfigMap name inside a serialized object, found without decoding."""
    at = raw.find(b"w0")
    return raw[at : at + 7].decode(errors="replace") if at >= 0 else ""


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        raw = raw_inserts_per_second(root / "raw.db", per_txn=1)
        figures["raw_sqlite_inserts_per_second"] = raw
        print(f"baseline  raw sqlite3, fsync per insert: {raw:8.0f} inserts/s")
        server = ServerProcess(root / "server", *API_ONLY)
        try:
            figures.update(asyncio.run(throughput(server.address)))
        finally:
            server.stop()
        for workers in (1, 100):
            floor = figures[f"empty_rpc_{workers}"]
            create = figures[f"create_{workers}"]
            print(
                f"{workers:3d} client(s): empty RPC {floor['per_second']:7.0f}/s "
                f"(p50 {floor['p50_ms']:.2f} ms)  create {create['per_second']:7.0f}/s "
                f"(p50 {create['p50_ms']:.2f} ms, p99 {create['p99_ms']:.2f} ms)  "
                f"= {create['per_second'] / raw:.0%} of raw sqlite, "
                f"{create['per_second'] / floor['per_second']:.0%} of the RPC floor"
            )
        for spread in (True, False):
            server = ServerProcess(root / f"watch-{spread}", *API_ONLY)
            try:
                result = asyncio.run(fan_out(server.address, server, STREAMS, 200, 5, spread))
            finally:
                server.stop()
            figures["watch_spread" if spread else "watch_all"] = result
        etcd_kb = etcd_memory_per_stream_kb(root / "etcd", STREAMS)
        figures["etcd_memory_per_watch_stream_kb"] = etcd_kb
        for spread in (True, False):
            result = figures["watch_spread" if spread else "watch_all"]
            label = "one namespace each" if spread else "all see every write"
            print(
                f"watch {STREAMS} streams, {label}: {result['deliveries_seen']}/"
                f"{result['deliveries_expected']} delivered, p50 {result['p50_ms'] or 0:.1f} ms, "
                f"p99 {result['p99_ms'] or 0:.1f} ms, "
                f"{result['server_memory_per_stream_kb']:.1f} kB/stream on the server"
            )
        print(f"baseline  etcd, {STREAMS} Watch streams on one member: {etcd_kb:.1f} kB/stream")
    return figures
