"""The etcd store: API create throughput on etcd beside raw etcd puts made
through the same client (shoal.plugins.stores.etcd_client) in the same run,
with one and with two API servers (each its own process) on one etcd member.

Goal: API creates at >= 50% of raw puts."""

from __future__ import annotations

import asyncio
import pathlib
import tempfile
from typing import Any

from shoal.client import Client
from shoal.plugins.stores.etcd_client import EtcdClient
from shoal.plugins.stores.etcd_local import LocalEtcd

from bench.bench_api import closed_loop, make_pod
from bench.server_process import ServerProcess

WORKERS = (1, 64)
API_ONLY = ("--controllers", "-")


async def raw_puts(endpoints: str) -> dict[str, Any]:
    value = make_pod("raw").SerializeToString()
    etcd = EtcdClient(endpoints)
    results: dict[str, Any] = {}
    try:
        for workers in WORKERS:

            async def put(i: int, w: int = workers) -> None:
                await etcd.put(f"/bench/raw/{w}/{i}".encode(), value)

            results[f"raw_put_{workers}"] = await closed_loop(workers, put)
    finally:
        await etcd.close()
    return results


async def api_creates(addresses: list[str], label: str) -> dict[str, Any]:
    pool = [Client(addresses[i % len(addresses)]) for i in range(4 * len(addresses))]
    results: dict[str, Any] = {}
    try:
        for workers in WORKERS:

            async def create(i: int, w: int = workers) -> None:
                await pool[i % len(pool)].create(make_pod(f"{label}-{w}-{i}"))

            results[f"create_{label}_{workers}"] = await closed_loop(workers, create)
    finally:
        for client in pool:
            await client.close()
    return results


def _servers(root: pathlib.Path, endpoints: str, count: int, label: str) -> list[ServerProcess]:
    flags = ("--store", "etcd", "--etcd-endpoints", endpoints, "--etcd-prefix", f"/{label}/")
    return [ServerProcess(root / f"{label}-{i}", *flags, *API_ONLY) for i in range(count)]


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        etcd = LocalEtcd(root / "etcd")
        (root / "etcd").mkdir()
        etcd.start()
        try:
            figures.update(asyncio.run(raw_puts(etcd.endpoints)))
            for count, label in ((1, "one"), (2, "two")):
                servers = _servers(root, etcd.endpoints, count, label)
                try:
                    addresses = [s.address for s in servers]
                    figures.update(asyncio.run(api_creates(addresses, label)))
                finally:
                    for server in servers:
                        server.stop()
        finally:
            etcd.stop()
    _report(figures)
    return figures


def _report(figures: dict[str, Any]) -> None:
    for workers in WORKERS:
        raw = figures[f"raw_put_{workers}"]["per_second"]
        print(f"{workers:3d} worker(s): raw etcd put {raw:7.0f}/s")
        for label in ("one", "two"):
            api = figures[f"create_{label}_{workers}"]
            ratio = api["per_second"] / raw
            figures[f"ratio_{label}_{workers}"] = ratio
            print(
                f"      API create, {label} server(s): {api['per_second']:7.0f}/s "
                f"(p50 {api['p50_ms']:.2f} ms, p99 {api['p99_ms']:.2f} ms) = {ratio:.0%} of raw"
            )
