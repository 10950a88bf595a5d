"""The agent at scale, on hollow nodes (the fake runtime):

* density: memory and CPU of one agent process carrying 1, 100 and 500
  hollow nodes with 10 s lease renewals. The cost of a node is marginal:
  (RSS with N nodes - RSS with 1 node) / (N - 1), printed beside the whole
  process's RSS and a bare interpreter's;
* pod startup: 100 hollow nodes x 30 pods, created already bound
  (spec.nodeName, round-robin; no scheduler or controller in the path),
  create -> Running observed through a watch, p50/p99, beside the API's
  bare create latency measured in the same run.

The server and the agent run in their own processes.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any

from shoal.api.v1 import core_pb2
from shoal.client import Client

from bench.server_process import ServerProcess

WINDOW = 30.0  # seconds of steady state measured (three lease renewals)
DENSITY = (1, 100, 500)  # hollow nodes per run; the first is the baseline


def _rss(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_interpreter_rss() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    time.sleep(0.5)
    try:
        return _rss(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def start_agent(address: str, data_dir: pathlib.Path, nodes: int) -> subprocess.Popen[bytes]:
    args = [
        sys.executable, "-m", "shoal.ctl.main", "agent", "--server", address,
        "--runtime", "fake", "--hollow-nodes", str(nodes), "--name", "hollow",
        "--data-dir", str(data_dir), "--stream-listen", "127.0.0.1:0",
        "--cpu", "8", "--memory", "32Gi", "--log-level", "warning",
    ]  # fmt: skip
    log = open(data_dir.parent / f"agent-{nodes}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)


async def wait_leases(address: str, count: int, timeout: float = 300) -> float:
    began = time.monotonic()
    async with Client(address) as client:
        while time.monotonic() - began < timeout:
            leases = await client.list("Lease", "kube-node-lease")
            if len(leases.items) >= count:
                return time.monotonic() - began
            await asyncio.sleep(0.5)
    raise TimeoutError(f"{count} hollow nodes did not register")


def density(address: str, work: pathlib.Path, nodes: int) -> dict[str, Any]:
    agent = start_agent(address, work / f"agent-{nodes}", nodes)
    try:
        registered = asyncio.run(wait_leases(address, nodes))
        time.sleep(5)  # let the start-up burst pass
        cpu0, t0 = _cpu(agent.pid), time.monotonic()
        time.sleep(WINDOW)
        cores = (_cpu(agent.pid) - cpu0) / (time.monotonic() - t0)
        rss = _rss(agent.pid)
    finally:
        agent.terminate()
        agent.wait(timeout=30)
    return {
        "nodes": nodes,
        "registration_s": round(registered, 2),
        "rss_mib": round(rss / 2**20, 1),
        "rss_bytes": rss,
        "cpu_cores": round(cores, 3),
    }


def marginal(run: dict[str, Any], base: dict[str, Any]) -> None:
    """Add the cost of one more node over the ``base`` run (fewer nodes)."""
    extra = run["nodes"] - base["nodes"]
    run["marginal_kib_per_node"] = round((run["rss_bytes"] - base["rss_bytes"]) / extra / 2**10, 1)
    run["marginal_cpu_ms_per_s_per_node"] = round(
        (run["cpu_cores"] - base["cpu_cores"]) / extra * 1e3, 3
    )


def print_density(run: dict[str, Any], bare: int) -> None:
    cost = (
        f"; per extra node over 1 node: {run['marginal_kib_per_node']:5.1f} KiB, "
        f"{run['marginal_cpu_ms_per_s_per_node']:.3f} ms/s CPU"
        if "marginal_kib_per_node" in run
        else " (the baseline)"
    )
    print(
        f"   {run['nodes']:4d} hollow node(s): registered in {run['registration_s']:5.2f} s, "
        f"whole process RSS {run['rss_mib']:5.1f} MiB (bare interpreter "
        f"{bare / 2**20:.1f} MiB), CPU {run['cpu_cores'] * 100:4.1f}% of a core{cost}"
    )


def _pod(name: str, node: str = "") -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace = name, "default"
    pod.spec.containers.add(name="main", image="registry.local/app:1")
    pod.spec.node_name = node
    return pod


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _create_all(client: Client, pods: list[core_pb2.Pod], workers: int) -> dict[str, float]:
    issued: dict[str, float] = {}
    queue = list(reversed(pods))

    async def worker() -> None:
        while queue:
            pod = queue.pop()
            issued[pod.metadata.name] = time.monotonic()
            await client.create(pod)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return issued


async def bare_create(address: str, count: int) -> list[float]:
    """Create latency of pods nobody runs (no node): the API alone."""
    async with Client(address) as client:
        latencies = []
        for i in range(count):
            began = time.monotonic()
            await client.create(_pod(f"bare-{i}"))
            latencies.append(time.monotonic() - began)
        return latencies


async def startup(address: str, nodes: int, per_node: int) -> list[float]:
    names = [f"hollow-{i:04d}" for i in range(nodes)]
    pods = [_pod(f"p-{i}", names[i % nodes]) for i in range(nodes * per_node)]
    running: dict[str, float] = {}
    async with Client(address) as client:
        listed = await client.list("Pod", "default")

        async def watch() -> None:
            async for event in client.watch(
                "Pod", "default", resource_version=listed.resource_version
            ):
                obj = event.object
                if obj is not None and obj.status.phase == "Running":
                    running.setdefault(obj.metadata.name, time.monotonic())
                    if len(running) == len(pods):
                        return

        watcher = asyncio.create_task(watch())
        issued = await _create_all(client, pods, workers=50)
        await asyncio.wait_for(watcher, 300)
    return [running[name] - issued[name] for name in issued]


def pod_startup(address: str, work: pathlib.Path, nodes: int, per_node: int) -> dict[str, Any]:
    bare = asyncio.run(bare_create(address, 300))
    agent = start_agent(address, work / "agent-startup", nodes)
    try:
        asyncio.run(wait_leases(address, nodes))
        time.sleep(2)
        began = time.monotonic()
        latencies = asyncio.run(startup(address, nodes, per_node))
        took = time.monotonic() - began
    finally:
        agent.terminate()
        agent.wait(timeout=30)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    b50, b99 = percentile(bare, 0.5), percentile(bare, 0.99)
    print(f"   baseline  bare pod create: p50 {b50 * 1e3:7.1f} ms  p99 {b99 * 1e3:7.1f} ms")
    print(
        f"   {nodes} nodes x {per_node} pods, bound at create: create -> Running "
        f"p50 {p50 * 1e3:7.1f} ms  p99 {p99 * 1e3:7.1f} ms  ({len(latencies)} pods in {took:.1f} s)"
    )
    return {
        "nodes": nodes,
        "pods": len(latencies),
        "path": "pods created bound (spec.nodeName round-robin); no scheduler",
        "running_p50_ms": round(p50 * 1e3, 1),
        "running_p99_ms": round(p99 * 1e3, 1),
        "total_s": round(took, 1),
        "bare_create_p50_ms": round(b50 * 1e3, 2),
        "bare_create_p99_ms": round(b99 * 1e3, 2),
    }


def run() -> dict[str, Any]:
    bare = bare_interpreter_rss()
    figures: dict[str, Any] = {"bare_interpreter_mib": round(bare / 2**20, 1), "density": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        for nodes in DENSITY:
            server = ServerProcess(work / f"server-{nodes}", "--controllers", "-")
            try:
                figures["density"].append(density(server.address, work, nodes))
            finally:
                server.stop()
        base = figures["density"][0]
        for result in figures["density"]:
            if result is not base:
                marginal(result, base)
            print_density(result, bare)
        server = ServerProcess(work / "server-startup", "--controllers", "-")
        try:
            figures["pod_startup"] = pod_startup(server.address, work, 100, 30)
        finally:
            server.stop()
    return figures
