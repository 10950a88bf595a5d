"""Jobs and CronJobs end to end on Docker and Podman: an in-process API
server, the scheduler, job, cronjob and garbage collector controllers, and a
real agent whose pods run busybox on the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from shoal.controlplane import ControlPlane, ControlPlaneOptions
from shoal.manifest import from_dict
from shoal.plugins.runtimes.images import BUSYBOX_IMAGE

from tests.e2e.agents import E2ENode, logs, start_node, stop_node
from tests.integration.helpers import eventually

CONTROLLERS = ["scheduler", "job", "cronjob", "garbagecollector"]


@pytest_asyncio.fixture
async def cluster(engine: str, node_name: str, tmp_path: Path) -> AsyncIterator[E2ENode]:
    node = await start_node(engine, node_name, tmp_path)
    options = ControlPlaneOptions(extra={"job_backoff_base": 0.2, "job_backoff_max": 1.0})
    plane = ControlPlane(node.client, CONTROLLERS, leader_elect=False, options=options)
    plane.start()
    try:
        yield node
    finally:
        await plane.stop()
        await stop_node(node)


def pod_template(script: str, restart: str = "Never") -> dict[str, Any]:
    return {
        "spec": {
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "main",
                    "image": BUSYBOX_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", script],
                }
            ],
        }
    }


def job(name: str, script: str, **spec: Any) -> Any:
    return from_dict(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {**spec, "template": pod_template(script)},
        }
    )


def has(j: Any, kind: str) -> Any | None:
    return next((c for c in j.status.conditions if c.type == kind and c.status == "True"), None)


async def until_condition(cluster: E2ENode, name: str, kind: str, timeout: float = 90) -> Any:
    async def check() -> Any:
        j = await cluster.client.get("Job", name, "default")
        return j if has(j, kind) else None

    return await eventually(check, timeout=timeout, interval=0.2)


async def job_pods(cluster: E2ENode, name: str) -> list[Any]:
    found = await cluster.client.list("Pod", "default", label_selector=f"job-name={name}")
    return list(found.items)


async def test_job_of_3_completions_2_parallel_completes_with_logs(cluster: E2ENode) -> None:
    script = "echo done by $(hostname)"
    await cluster.client.create(job("trio", script, completions=3, parallelism=2))
    done = await until_condition(cluster, "trio", "Complete")
    assert (done.status.succeeded, done.status.failed, done.status.active) == (3, 0, 0)
    pods = await job_pods(cluster, "trio")
    assert len(pods) == 3 and {p.status.phase for p in pods} == {"Succeeded"}
    # As the kubelet, the agent stops a finished pod's sandbox (its pause
    # container); the exited containers stay and their logs still read.
    runtime = cluster.agent.nodes[cluster.node].runtime
    uids = {p.metadata.uid for p in pods}

    async def sandboxes_stopped() -> bool:
        mine = [s for s in await runtime.list_pod_sandboxes() if s.uid in uids]
        return len({s.uid for s in mine}) == 3 and all(s.state != "ready" for s in mine)

    await eventually(sandboxes_stopped, timeout=30)
    for p in pods:
        out = await logs(cluster.streams, p.metadata.name)
        assert out == f"done by {p.metadata.name}\n".encode()


async def test_failing_job_stops_at_its_backoff_limit(cluster: E2ENode) -> None:
    await cluster.client.create(job("doomed", "echo trying; exit 2", backoffLimit=1))
    failed = await until_condition(cluster, "doomed", "Failed")
    assert has(failed, "Failed").reason == "BackoffLimitExceeded"  # type: ignore[union-attr]
    assert failed.status.failed == 2
    pods = await job_pods(cluster, "doomed")
    assert len(pods) == 2 and {p.status.phase for p in pods} == {"Failed"}
    codes = {p.status.container_statuses[0].state.terminated.exit_code for p in pods}
    assert codes == {2}


async def test_cron_job_fires_within_its_minute(cluster: E2ENode) -> None:
    # The one test that waits for a real schedule ("* * * * *": at most ~60 s).
    cron = from_dict(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "hello"},
            "spec": {
                "schedule": "* * * * *",
                "jobTemplate": {"spec": {"template": pod_template("echo Hello", "OnFailure")}},
            },
        }
    )
    await cluster.client.create(cron)

    async def fired() -> Any:
        items = (await cluster.client.list("Job", "default")).items
        return items[0] if items else None

    made = await eventually(fired, timeout=75, interval=0.5)
    assert made.metadata.name.startswith("hello-")
    done = await until_condition(cluster, made.metadata.name, "Complete")
    [pod] = await job_pods(cluster, done.metadata.name)
    assert await logs(cluster.streams, pod.metadata.name) == b"Hello\n"

    async def recorded() -> Any:
        got = await cluster.client.get("CronJob", "hello", "default")
        return got if got.status.HasField("last_successful_time") else None

    status = (await eventually(recorded, timeout=30, interval=0.2)).status
    assert status.last_schedule_time.seconds % 60 == 0
