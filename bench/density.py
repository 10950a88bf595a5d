"""Helpers of the density benchmarks (``bench_density``, ``bench_scale``):
a cluster of one server process (with its control plane) and hollow-node
agents in their own processes, a pod watch that times each pod, and the
server's request latencies read from its ``/metrics`` histograms."""

from __future__ import annotations

import asyncio
import contextlib
import math
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from shoal.client import Client
from shoal.manifest import from_dict

from bench.server_process import ServerProcess

MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A ``shoal server`` (scheduler and controllers in it, as by default)
    serving ``/metrics`` on loopback, and agents of ``per_agent`` hollow
    nodes each on the fake runtime."""

    def __init__(self, work: pathlib.Path, nodes: int, per_agent: int = 250) -> None:
        self.http = f"127.0.0.1:{free_port()}"
        self.server = ServerProcess(work / "server", "--http-listen", self.http)
        self.agents: list[subprocess.Popen[bytes]] = []
        self.nodes = nodes
        try:
            for i in range(math.ceil(nodes / per_agent)):
                count = min(per_agent, nodes - i * per_agent)
                self.agents.append(self._agent(work / f"agent-{i}", f"hollow{i}", count))
        except BaseException:
            self.stop()
            raise

    def _agent(self, data: pathlib.Path, name: str, count: int) -> subprocess.Popen[bytes]:
        data.mkdir(parents=True, exist_ok=True)
        args = [
            sys.executable, "-m", "shoal.ctl.main", "agent", "--server", self.server.address,
            "--runtime", "fake", "--hollow-nodes", str(count), "--name", name,
            "--data-dir", str(data), "--stream-listen", "127.0.0.1:0",
            "--cpu", "8", "--memory", "32Gi", "--log-level", "warning",
        ]  # fmt: skip
        log = open(data / "agent.log", "ab")  # noqa: SIM115 - the process holds it
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)

    async def wait_ready(self, timeout: float = 600) -> float:
        """Seconds until every node is Ready."""
        began = time.monotonic()
        async with Client(self.server.address) as client:
            while time.monotonic() - began < timeout:
                nodes = (await client.list("Node")).items
                ready = sum(1 for n in nodes if _condition(n, "Ready"))
                if ready >= self.nodes:
                    return time.monotonic() - began
                for agent in self.agents:
                    if agent.poll() is not None:
                        raise RuntimeError("a hollow-node agent exited")
                await asyncio.sleep(1)
        raise TimeoutError(f"{self.nodes} nodes did not become Ready")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://{self.http}/metrics", timeout=60) as response:
            return str(response.read().decode())

    def stop(self) -> None:
        for agent in self.agents:
            agent.terminate()
        for agent in self.agents:
            try:
                agent.wait(timeout=30)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        self.server.stop()


def _condition(obj: Any, kind: str) -> bool:
    return any(c.type == kind and c.status == "True" for c in obj.status.conditions)


def deployment(name: str, replicas: int, namespace: str = "default") -> Any:
    return from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "main", "image": "registry.local/app:1"}]},
                },
            },
        }
    )


class PodClock:
    """Watches the pods of a namespace: when each was first seen (ADDED),
    seen Running and seen Ready, as observed by this process."""

    def __init__(self, client: Client, namespace: str) -> None:
        self.seen: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.ready: dict[str, float] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client, self._namespace = client, namespace

    async def start(self) -> None:
        listed = await self._client.list("Pod", self._namespace, limit=1)
        self._task = asyncio.create_task(self._follow(listed.resource_version))

    async def _follow(self, version: str) -> None:
        async for event in self._client.watch("Pod", self._namespace, resource_version=version):
            pod, now = event.object, time.monotonic()
            if pod is None or event.type == "DELETED":
                continue
            name = pod.metadata.name
            self.seen.setdefault(name, now)
            if pod.status.phase == "Running":
                self.running.setdefault(name, now)
            if _condition(pod, "Ready"):
                self.ready.setdefault(name, now)
            self._changed.set()

    async def until_ready(self, count: int, timeout: float) -> float:
        """The time (monotonic) the ``count``-th pod was seen Ready."""
        deadline = time.monotonic() + timeout
        while len(self.ready) < count:
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(self.ready)} of {count} pods Ready")
            if self._task is not None and self._task.done():
                self._task.result()  # the watch failed: say why
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 5.0))
        return max(self.ready.values())

    def startup(self) -> list[float]:
        """Per pod: first seen -> seen Running, seconds."""
        return [self.running[n] - self.seen[n] for n in self.running if n in self.seen]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def percentile(values: list[float], q: float) -> float:
    """The smallest value at or above the ``q`` quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def request_histograms(text: str) -> dict[str, dict[float, float]]:
    """``apiserver_request_duration_seconds`` buckets summed per verb class
    (``mutating``, ``list``): upper bound -> cumulative count."""
    out: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for line in text.splitlines():
        if not line.startswith("apiserver_request_duration_seconds_bucket{"):
            continue
        labels, value = line.rsplit(" ", 1)
        fields = dict(
            part.split("=", 1) for part in labels[labels.index("{") + 1 : -1].split(",") if part
        )
        verb = fields.get("verb", "").strip('"')
        le = fields.get("le", "").strip('"')
        bound = math.inf if le == "+Inf" else float(le)
        if verb in MUTATING:
            out["mutating"][bound] += float(value)
        elif verb == "LIST":
            out["list"][bound] += float(value)
    return out


def histogram_p99(before: dict[float, float], after: dict[float, float]) -> tuple[float, int]:
    """The p99 upper bucket bound of the requests between two scrapes, and their count."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return 0.0, 0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= 0.99 * total:
            return bound, int(total)
    return math.inf, int(total)


class PeakRSS:
    """Samples a process's RSS every second in the background; the peak."""

    def __init__(self, server: ServerProcess) -> None:
        self.peak = 0
        self._server = server
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self._server.rss_bytes())
            await asyncio.sleep(1)

    async def stop(self) -> int:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.peak = max(self.peak, self._server.rss_bytes())
        return self.peak


def mutating_calls(text: str) -> dict[str, float]:
    """``apiserver_request_total`` of mutating verbs, per "VERB resource[/sub]"."""
    out: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels, value = line.rsplit(" ", 1)
        fields = {
            k: v.strip('"')
            for k, v in (p.split("=", 1) for p in labels[labels.index("{") + 1 : -1].split(","))
        }
        if fields.get("verb") in MUTATING:
            sub = f"/{fields['subresource']}" if fields.get("subresource") else ""
            out[f"{fields['verb']} {fields.get('resource', '')}{sub}"] += float(value)
    return out


def calls_between(before: str, after: str) -> dict[str, int]:
    earlier, later = mutating_calls(before), mutating_calls(after)
    diff = {k: int(v - earlier.get(k, 0.0)) for k, v in later.items()}
    return dict(sorted(((k, v) for k, v in diff.items() if v), key=lambda kv: -kv[1]))


async def events_settled(
    scrape: Callable[[], str], began: float, quiet: float = 2.0, timeout: float = 600.0
) -> float:
    """Seconds from ``began`` (a ``time.monotonic()``) to the last Event
    write the server counted, once none has come for ``quiet`` seconds.
    Components write their Events one at a time in the background (as
    Kubernetes' do), so they may still be arriving when the pods are Ready:
    a baseline measured next, or writes counted per pod, must wait for them."""
    seen, changed = -1.0, time.monotonic()
    deadline = changed + timeout
    while time.monotonic() < deadline:
        calls = mutating_calls(await asyncio.to_thread(scrape))
        count = calls.get("POST events", 0.0) + calls.get("PATCH events", 0.0)
        if count != seen:
            seen, changed = count, time.monotonic()
        elif time.monotonic() - changed >= quiet:
            break
        await asyncio.sleep(0.2)
    return changed - began
