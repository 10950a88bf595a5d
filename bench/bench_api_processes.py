"""Issue 18, goal 5: ConfigMap creates/s with 100 in flight through
``shoal server --store etcd --api-processes N``, each beside the empty-RPC
floor (``Discovery.Version``) measured through the same server in the same
run. The load comes from this process over 8 connections (the kernel
spreads connections, not calls, over the API processes).

N = 1 and 2 are measured; 4 is measured too but on a 2-core machine it is
4 processes on 2 cores (and etcd and this load generator share them): it
shows the cost of oversubscription, not what 4 cores would give. The
figures are printed with the machine's core count.

**Simulated cores**, for a machine without 4 cores: the same three servers
again, each API process held by a cgroup CPU quota to
``SIMULATED_CORE`` of a core (``bench/cpucap.py``; root, cgroup v1 or v2).
Four processes then take 4 x 0.2 = 0.8 of a 2-core machine, so they never
compete for a core, and etcd and the load generator keep the rest: each
process is a small core of its own. The load grows with the processes, as
it would with the clients that made more processes needed: 8 connections
and 25 callers per process, each caller pinned to a connection
(independent clients; the kernel spreads connections, not calls, over the
processes), so each process sees the same load. The run waits until every
process listens, and it checks that the processes used their quota
(CPU-bound: otherwise the figure measures something else, and says so).
The figure is creates/s per simulated core and the scaling from 1 to 2
and 4 processes; divided by the quota it estimates a whole core each,
which assumes the cost per create does not change with the core's speed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from shoal.client import Client
from shoal.plugins.stores.etcd_local import LocalEtcd

from bench import cpucap
from bench.bench_api import API_ONLY, closed_loop
from bench.bench_api_path import make_config_map
from bench.goals import goal
from bench.server_process import ServerProcess

PROCESSES = (1, 2, 4)
CONNECTIONS = 8
SIMULATED_CORE = 0.2  # of a core, per API process
SIMULATED_CONNECTIONS = 8  # per API process
SIMULATED_CALLERS = 25  # per API process


async def measure(address: str, tag: str) -> dict[str, dict[str, float]]:
    pool = [Client(address) for _ in range(CONNECTIONS)]
    try:

        async def empty(i: int) -> None:
            await pool[i % len(pool)].version()

        async def create(i: int) -> None:
            await pool[i % len(pool)].create(make_config_map(f"{tag}-{i}"))

        return {
            "empty_rpc": await closed_loop(100, empty),
            "create": await closed_loop(100, create),
        }
    finally:
        for client in pool:
            await client.close()


def _listening(port: int) -> int:
    """Sockets listening on ``port`` (one per API process: SO_REUSEPORT)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in pathlib.Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


def _api_pids(server: ServerProcess, n: int, timeout: float = 60.0) -> list[int]:
    """The API processes, once all ``n`` listen: the server itself, or its
    children (``--api-processes``: the parent only holds the port)."""
    port = int(server.address.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listening(port) >= n:
            if n == 1:
                return [server.proc.pid]
            children = pathlib.Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
            return [int(pid) for pid in children.read_text().split()]
        time.sleep(0.1)
    raise TimeoutError(f"{n} API processes did not all listen on {port}")


def _creating(prefix: str) -> Callable[[int, Client], Awaitable[Any]]:
    """A caller's ConfigMap create through its own client."""

    async def create(i: int, client: Client) -> Any:
        return await client.create(make_config_map(f"{prefix}-{i}"))

    return create


async def simulated_measure(address: str, pids: list[int], tag: str) -> dict[str, Any]:
    pool = [Client(address) for _ in range(SIMULATED_CONNECTIONS * len(pids))]
    callers = SIMULATED_CALLERS * len(pids)
    try:
        await asyncio.gather(*(client.version() for client in pool))  # connected, spread
        await closed_loop(callers, _creating(f"{tag}-warm"), pinned=pool)
        before = [cpucap.cpu_seconds(pid) for pid in pids]
        started = time.perf_counter()
        result: dict[str, Any] = await closed_loop(callers, _creating(tag), pinned=pool)
        elapsed = time.perf_counter() - started
        used = [(cpucap.cpu_seconds(p) - b) / elapsed for p, b in zip(pids, before, strict=True)]
        result["cores_used_per_process"] = [round(u, 3) for u in used]
        return result
    finally:
        for client in pool:
            await client.close()


def simulated(tmp: pathlib.Path, etcd: LocalEtcd) -> dict[str, Any]:
    """Creates/s with 1, 2 and 4 API processes, each capped at
    SIMULATED_CORE of a core."""
    why = cpucap.available()
    if why:
        print(f"   simulated cores: skipped ({why})")
        return {"skipped": why}
    figures: dict[str, Any] = {"core_fraction": SIMULATED_CORE}
    for n in PROCESSES:
        server = ServerProcess(
            tmp / f"simulated{n}",
            *API_ONLY,
            *("--store", "etcd", "--etcd-endpoints", etcd.endpoints),
            *("--etcd-prefix", f"/registry-sim{n}/", "--api-processes", str(n)),
        )
        try:
            pids = _api_pids(server, n)
            with contextlib.ExitStack() as caps:
                for i, pid in enumerate(pids):
                    caps.enter_context(cpucap.capped(pid, SIMULATED_CORE, f"api{n}-{i}"))
                result = asyncio.run(simulated_measure(server.address, pids, f"s{n}"))
        finally:
            server.stop()
        figures[f"processes_{n}"] = result
        one = figures["processes_1"]["per_second"]
        used = result["cores_used_per_process"]
        bound = min(used) >= 0.9 * SIMULATED_CORE
        result["cpu_bound"] = bound
        print(
            f"   {n} API process(es) at {SIMULATED_CORE} core each: ConfigMap create"
            f" {result['per_second']:6.0f}/s = {result['per_second'] / one:.2f}x one process"
            f" (~{result['per_second'] / SIMULATED_CORE:.0f}/s with a whole core each);"
            f" cores used {', '.join(f'{u:.2f}' for u in used)}"
            + ("" if bound else " - NOT CPU-bound: a process left part of its quota unused")
        )
    last = figures[f"processes_{PROCESSES[-1]}"]
    figures["goal"] = goal(
        f"multi-core: creates/s with {PROCESSES[-1]} API processes vs 1 (simulated cores)",
        last["per_second"] / figures["processes_1"]["per_second"],
        f"1 process {figures['processes_1']['per_second']:.0f}/s,"
        f" {PROCESSES[-1]} processes {last['per_second']:.0f}/s, {SIMULATED_CORE} core each",
        f"creates/s shown for {', '.join(map(str, PROCESSES))} processes, each CPU-bound",
        all(figures[f"processes_{n}"]["cpu_bound"] for n in PROCESSES),
        unit="x",
    )
    return figures


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {"cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        (pathlib.Path(tmp) / "etcd").mkdir()
        etcd = LocalEtcd(pathlib.Path(tmp) / "etcd")
        etcd.start()
        try:
            for n in PROCESSES:
                server = ServerProcess(
                    pathlib.Path(tmp) / f"server{n}",
                    *API_ONLY,
                    *("--store", "etcd", "--etcd-endpoints", etcd.endpoints),
                    *("--etcd-prefix", f"/registry-{n}/", "--api-processes", str(n)),
                )
                try:
                    _api_pids(server, n)  # every process listens before the load connects
                    result = asyncio.run(measure(server.address, f"p{n}"))
                finally:
                    server.stop()
                figures[f"processes_{n}"] = result
                floor, create = result["empty_rpc"], result["create"]
                print(
                    f"   {n} API process(es) on {os.cpu_count()} cores: empty RPC"
                    f" {floor['per_second']:6.0f}/s  ConfigMap create {create['per_second']:6.0f}/s"
                    f" ({create['per_second'] / floor['per_second']:.2f}x the floor)"
                )
            figures["simulated_cores"] = simulated(pathlib.Path(tmp), etcd)
        finally:
            etcd.stop()
    return figures
