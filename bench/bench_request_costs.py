"""The API server's CPU per request, for each request a pod's life makes,
beside the empty RPC (``Discovery.Version``) measured in the same run.

One `shoal server` process with no controllers (``--controllers -``: no
scheduler or controller acting on the objects, and no watches of theirs to
serve), a load generator in this process with ``IN_FLIGHT`` calls in flight
over four channels. Each figure is the server process's CPU seconds (user +
system, from ``/proc``) over ``REQUESTS`` requests of one type, so the
load generator's own work is not in it. Where the Job benchmark's ratio
comes from: a pod of a Job and a pod of a Deployment make different
requests, and each request type has its own cost. A merge patch of labels
(``kubectl label``, an operator's annotation) is measured beside the PUT.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from shoal import events
from shoal.api.v1 import core_pb2
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.controllers import job_tracking, job_util

from bench.bench_api import API_ONLY
from bench.server_process import ServerProcess

REQUESTS = int(os.environ.get("SHOAL_BENCH_REQUESTS", "2000"))
IN_FLIGHT = 16
CHANNELS = 4
JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "costs", "namespace": "default"},
    "spec": {
        "completions": 10,
        "parallelism": 10,
        "template": {
            "metadata": {"labels": {"bench": "yes"}},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 0,
                "containers": [
                    {"name": "c", "image": "busybox", "command": ["sh", "-c", "echo ok"]}
                ],
            },
        },
    },
}


class Load:
    def __init__(self, server: ServerProcess) -> None:
        self.pool = [Client(server.address) for _ in range(CHANNELS)]
        self.server = server
        self.figures: dict[str, Any] = {}

    def client(self, i: int) -> Client:
        return self.pool[i % CHANNELS]

    async def measure(
        self, label: str, count: int, call: Callable[[int], Awaitable[Any]]
    ) -> list[Any]:
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def one(i: int) -> Any:
            async with slots:
                return await call(i)

        cpu, began = self.server.cpu_seconds(), time.monotonic()
        results = await asyncio.gather(*(one(i) for i in range(count)))
        spent, wall = self.server.cpu_seconds() - cpu, time.monotonic() - began
        self.figures[label] = {
            "server_cpu_ms_per_request": round(1000 * spent / count, 3),
            "requests_per_second": round(count / wall),
        }
        print(f"   {label:34s} {1000 * spent / count:5.2f} ms server CPU per request")
        return results

    async def close(self) -> None:
        for c in self.pool:
            await c.close()


def _event(pod: Any, reason: str) -> Any:
    event = core_pb2.Event(
        involved_object=events.involved_object(pod),
        reason=reason,
        message=f"{reason} container c",
        type="Normal",
        count=1,
    )
    event.metadata.namespace = pod.metadata.namespace
    event.metadata.name = f"{pod.metadata.name}.{time.time_ns():x}"
    event.source.component = "kubelet"
    return event


def _binding(pod: Any) -> Any:
    binding = core_pb2.Binding()
    binding.metadata.name, binding.metadata.namespace = pod.metadata.name, pod.metadata.namespace
    binding.target.kind, binding.target.name = "Node", "bench-node"
    return binding


async def measure(server: ServerProcess) -> dict[str, Any]:
    load = Load(server)
    try:
        first = load.client(0)
        job = await first.create(from_dict(JOB))
        await first.create(
            from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "bench-node"}})
        )
        await load.measure(
            "warm-up (not a figure)", REQUESTS // 4, lambda i: load.client(i).version()
        )
        load.figures.clear()
        await load.measure(
            "empty RPC (Discovery.Version)", REQUESTS, lambda i: load.client(i).version()
        )
        pods = await load.measure(
            "create a Job's pod",
            REQUESTS,
            lambda i: load.client(i).create(job_util.new_pod(job, None)),
        )
        await load.measure(
            "create an Event", REQUESTS, lambda i: load.client(i).create(_event(pods[i], "Started"))
        )
        await load.measure(
            "create a Binding", REQUESTS, lambda i: load.client(i).create(_binding(pods[i]))
        )
        bound = {p.metadata.name: p for p in (await first.list("Pod", "default")).items}

        def succeeded(i: int) -> Any:
            pod = bound[pods[i].metadata.name]
            pod.status.phase = "Succeeded"
            return load.client(i).update_status(pod)

        done = await load.measure("update a pod's status", REQUESTS, succeeded)
        released = await load.measure(
            "update a pod (finalizer removal)",
            REQUESTS,
            lambda i: load.client(i).update(job_tracking.without_tracking(done[i])),
        )
        await load.measure(
            "merge-patch a pod's labels",
            REQUESTS,
            lambda i: load.client(i).patch(
                "Pod", released[i].metadata.name, {"metadata": {"labels": {"seen": "yes"}}},
                "default",
            ),
        )  # fmt: skip
        jobs = await load.measure(
            "create a Job",
            REQUESTS // 4,
            lambda i: load.client(i).create(from_dict({**JOB, "metadata": {"name": f"costs-{i}"}})),
        )

        def job_status(i: int) -> Any:
            counted = jobs[i]
            counted.status.active = 10
            counted.status.start_time.GetCurrentTime()
            return load.client(i).update_status(counted)

        await load.measure("update a Job's status", REQUESTS // 4, job_status)
    finally:
        await load.close()
    return load.figures


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shoal-bench-costs-") as tmp:
        server = ServerProcess(pathlib.Path(tmp) / "server", *API_ONLY)
        try:
            figures = asyncio.run(measure(server))
        finally:
            server.stop()
    floor = figures["empty RPC (Discovery.Version)"]["server_cpu_ms_per_request"]
    print(f"   (each beside the empty RPC's {floor:.2f} ms, in the same run)")
    return {"requests": REQUESTS, "in_flight": IN_FLIGHT, "costs": figures}
