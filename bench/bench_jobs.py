"""Job pods per second through the whole path, beside Deployment pods per
second measured in the same run (issue 16's goal: a ratio of 0.8 or more).

One `shoal server` (API server, scheduler, every controller) and one agent
with hollow nodes (the fake runtime, whose containers exit as their command
says), each in its own process:

* baseline: a Deployment of ``JOBS x COMPLETIONS`` replicas, from create to
  every pod Running;
* jobs: ``JOBS`` Jobs of ``COMPLETIONS`` completions (parallelism equal),
  each pod running ``echo ok``, created 16 at a time, from the first create
  to every job Complete.

Each phase also counts the server's mutating requests per pod, by verb and
resource (its ``apiserver_request_total``, from the /metrics of
``--http-listen``), once the phase's Events, which trail its pods, are all
written (``events_settled_s``: their last write, from the phase's start):
what a Job's pod asks of the server beside a Deployment's (``python -m
bench request_costs`` gives each request's cost).

Each phase runs on a cluster of its own (a new server and agent): on one
cluster reused across phases, whichever ran later ran slower by up to a
third (why was not found), so the order decided the ratio. The two
alternate, ``SHOAL_BENCH_ROUNDS`` times each (default 3), which goes first
alternating by round; the figures are the medians. Sizes:
``SHOAL_BENCH_JOBS`` (default 1000), ``SHOAL_BENCH_COMPLETIONS`` (default
10), ``SHOAL_BENCH_NODES`` (default 100 hollow nodes, 200 pods each).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

from shoal.client import Client
from shoal.manifest import from_dict

from bench.bench_agent import wait_leases
from bench.density import calls_between, events_settled, free_port
from bench.goals import goal
from bench.server_process import ServerProcess

JOBS = int(os.environ.get("SHOAL_BENCH_JOBS", "1000"))
COMPLETIONS = int(os.environ.get("SHOAL_BENCH_COMPLETIONS", "10"))
NODES = int(os.environ.get("SHOAL_BENCH_NODES", "100"))
ROUNDS = int(os.environ.get("SHOAL_BENCH_ROUNDS", "3"))
POLL = 0.5
IN_FLIGHT = 16  # job creates in flight at once


def start_agent(address: str, data_dir: pathlib.Path) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable, "-m", "shoal.ctl.main", "agent", "--server", address,
        "--runtime", "fake", "--hollow-nodes", str(NODES), "--name", "hollow",
        "--data-dir", str(data_dir), "--stream-listen", "127.0.0.1:0",
        "--cpu", "64", "--memory", "256Gi", "--max-pods", "200", "--log-level", "warning",
    ]  # fmt: skip
    log = open(data_dir.parent / "agent.log", "ab")  # noqa: SIM115
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)


def _template(command: str, restart: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"bench": "yes"}},
        "spec": {
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", command]}],
        },
    }


class Tracker:
    """Follows a kind through one watch (a list of 10,000 pods would pass
    gRPC's message size): name -> whatever ``summary`` says of the object."""

    def __init__(self, client: Client, kind: str, summary: Any) -> None:
        self.state: dict[str, Any] = {}
        self.summary = summary
        self.task = asyncio.create_task(self._follow(client, kind))

    async def _follow(self, client: Client, kind: str) -> None:
        async for event in client.watch(kind, "default"):
            if event.object is None:
                continue
            if event.type == "DELETED":
                self.state.pop(event.object.metadata.name, None)
            else:
                self.state[event.object.metadata.name] = self.summary(event.object)

    def count(self, value: Any) -> int:
        return sum(v == value for v in self.state.values())

    async def until(self, check: Any) -> None:
        while not check():
            await asyncio.sleep(POLL)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class Writes:
    """The server's mutating requests per pod, by verb and resource, from
    its ``apiserver_request_total`` (the gateway's /metrics at ``http``)."""

    def __init__(self, http: str) -> None:
        self.url = f"http://{http}/metrics"

    async def now(self) -> str:
        return await asyncio.to_thread(self._scrape)

    def _scrape(self) -> str:
        with urllib.request.urlopen(self.url, timeout=60) as answer:
            return str(answer.read().decode())

    async def per_pod(self, before: str, pods: int, began: float) -> dict[str, Any]:
        """Once the phase's Events are all written (they trail its pods):
        the writes per pod, and when the last Event was written."""
        settled = await events_settled(self._scrape, began)
        spent = calls_between(before, await self.now())
        per_pod = {"total": round(sum(spent.values()) / pods, 2)} | {
            k: round(v / pods, 2) for k, v in spent.items()
        }
        return {"writes_per_pod": per_pod, "events_settled_s": round(settled, 2)}


def _complete(job: Any) -> bool:
    return any(c.type == "Complete" and c.status == "True" for c in job.status.conditions)


async def deployment_pods_per_second(
    client: Client, pods: int, writes: Writes | None = None
) -> dict[str, Any]:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "baseline"},
        "spec": {
            "replicas": pods,
            "selector": {"matchLabels": {"bench": "yes"}},
            "template": _template("sleep infinity", "Always"),
        },
    }
    phases = Tracker(client, "Pod", lambda p: p.status.phase)
    before = await writes.now() if writes else ""
    began = time.monotonic()
    await client.create(from_dict(manifest))
    await phases.until(lambda: phases.count("Running") >= pods)
    seconds = time.monotonic() - began
    await phases.stop()
    spent = await writes.per_pod(before, pods, began) if writes else {}
    figures = {
        "pods": pods,
        "seconds": round(seconds, 2),
        "pods_per_second": round(pods / seconds, 1),
    }
    return {**figures, **spent}


async def job_pods_per_second(
    client: Client, jobs: int, completions: int, prefix: str = "j", writes: Writes | None = None
) -> dict[str, Any]:
    done = Tracker(client, "Job", _complete)
    before = await writes.now() if writes else ""
    began = time.monotonic()
    spec = {
        "completions": completions,
        "parallelism": completions,
        "template": _template("echo ok", "Never"),
    }
    slots = asyncio.Semaphore(IN_FLIGHT)  # a load generator, not one request at a time

    async def create(i: int) -> None:
        body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": f"{prefix}{i}"}}
        async with slots:
            await client.create(from_dict({**body, "spec": spec}))

    await asyncio.gather(*(create(i) for i in range(jobs)))
    created = time.monotonic() - began
    await done.until(lambda: done.count(True) == jobs)
    seconds = time.monotonic() - began
    await done.stop()
    pods = jobs * completions
    spent = await writes.per_pod(before, pods, began) if writes else {}
    return {
        **spent,
        "jobs": jobs,
        "completions": completions,
        "pods": pods,
        "create_seconds": round(created, 2),
        "seconds": round(seconds, 2),
        "pods_per_second": round(pods / seconds, 1),
    }


async def run_phase(address: str, writes: Writes, kind: str) -> dict[str, Any]:
    async with Client(address) as client:
        if kind == "deployment":
            return await deployment_pods_per_second(client, JOBS * COMPLETIONS, writes)
        return await job_pods_per_second(client, JOBS, COMPLETIONS, "j", writes)


def on_new_cluster(kind: str) -> dict[str, Any]:
    """One phase on a server and agent of its own."""
    with tempfile.TemporaryDirectory(prefix="shoal-bench-jobs-") as tmp:
        work = pathlib.Path(tmp)
        http = f"127.0.0.1:{free_port()}"
        server = ServerProcess(work / "server", "--http-listen", http)
        agent = start_agent(server.address, work / "agent")
        try:
            asyncio.run(wait_leases(server.address, NODES))
            return asyncio.run(run_phase(server.address, Writes(http), kind))
        finally:
            agent.terminate()
            try:
                agent.wait(timeout=30)
            except subprocess.TimeoutExpired:  # busy stopping 10,000 hollow pods
                agent.kill()
                agent.wait()
            server.stop()


def measure() -> dict[str, Any]:
    rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for r in range(ROUNDS):
        order = ("deployment", "jobs") if r % 2 == 0 else ("jobs", "deployment")
        results = {kind: on_new_cluster(kind) for kind in order}
        baseline, jobs = results["deployment"], results["jobs"]
        print(f"   round {r} ({' then '.join(order)}): deployment {baseline['pods_per_second']} "
              f"pods/s, jobs {jobs['pods_per_second']} pods/s", flush=True)  # fmt: skip
        rounds.append((baseline, jobs))
    baseline = _median([b for b, _ in rounds])
    jobs = _median([j for _, j in rounds])
    ratio = jobs["pods_per_second"] / baseline["pods_per_second"]
    return {
        "deployment": baseline,
        "jobs": jobs,
        "ratio": round(ratio, 2),
        "nodes": NODES,
        "rounds": [
            {
                "deployment_pods_per_second": b["pods_per_second"],
                "job_pods_per_second": j["pods_per_second"],
            }
            for b, j in rounds
        ],
    }


def _median(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The round of median pods per second."""
    ranked = sorted(results, key=lambda r: r["pods_per_second"])
    middle = statistics.median_low([r["pods_per_second"] for r in ranked])
    return next(r for r in ranked if r["pods_per_second"] == middle)


def run() -> dict[str, Any]:
    figures = measure()
    d, j = figures["deployment"], figures["jobs"]
    print(f"   deployment: {d['pods']} pods Running in {d['seconds']} s", end="")
    print(f" = {d['pods_per_second']} pods/s")
    print(
        f"   jobs: {j['jobs']} x {j['completions']} completions in {j['seconds']} s "
        f"= {j['pods_per_second']} pods/s"
    )
    figures["goal"] = goal(
        "Job pods/s beside Deployment pods/s (issue 16)",
        figures["ratio"],
        f"Deployment {d['pods_per_second']} pods/s, Jobs {j['pods_per_second']} pods/s",
        ">= 0.8",
        figures["ratio"] >= 0.8,
        "x",
    )
    for name, phase in (("deployment", d), ("jobs", j)):
        calls = ", ".join(f"{k} {v}" for k, v in phase["writes_per_pod"].items())
        print(f"   writes per pod, {name} (median round): {calls}")
    return figures
