"""Jobs on hollow nodes: the whole path (API server, job controller,
scheduler, agent with the fake runtime, whose containers exit as their
command says)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from shoal import errors
from shoal.agent.testing import Cluster, start_cluster, stop_cluster
from shoal.client import Client

from tests.integration.helpers import eventually, obj

# Fast back-off so that failure tests do not wait Kubernetes' 10 s.
OPTIONS = {"job_backoff_base": 0.05, "job_backoff_max": 0.2}


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    c = await start_cluster(tmp_path, nodes=2, controller_options=OPTIONS)
    try:
        yield c
    finally:
        await stop_cluster(c)


def job(name: str, command: str = "echo done", **spec: Any) -> Any:
    pod_spec = spec.pop("pod", {})
    return obj(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {
                **spec,
                "template": {
                    "spec": {
                        "restartPolicy": pod_spec.pop("restartPolicy", "Never"),
                        "containers": [
                            {
                                "name": "main",
                                "image": "busybox:1.36",
                                "command": ["sh", "-c", command],
                            }
                        ],
                        **pod_spec,
                    }
                },
            },
        }
    )


def condition(j: Any, kind: str) -> Any | None:
    return next((c for c in j.status.conditions if c.type == kind and c.status == "True"), None)


async def finished(client: Client, name: str, kind: str, timeout: float = 30.0) -> Any:
    async def check() -> Any:
        j = await client.get("Job", name)
        return j if condition(j, kind) else None

    return await eventually(check, timeout=timeout)


async def pods_of(client: Client, name: str) -> list[Any]:
    listed = await client.list("Pod", "default", label_selector=f"job-name={name}")
    return list(listed.items)


async def test_job_of_3_completions_2_parallel_completes(cluster: Cluster) -> None:
    client = cluster.client
    created = await client.create(job("pi", "echo 3.14159", completions=3, parallelism=2))
    uid = created.metadata.uid
    # Kubernetes' generated selector and labels.
    assert dict(created.spec.selector.match_labels) == {"batch.kubernetes.io/controller-uid": uid}
    labels = created.spec.template.metadata.labels
    assert labels["job-name"] == labels["batch.kubernetes.io/job-name"] == "pi"
    assert labels["controller-uid"] == uid
    assert (created.spec.backoff_limit, created.spec.completion_mode, created.spec.suspend) == (
        6,
        "NonIndexed",
        False,
    )
    done = await finished(client, "pi", "Complete")
    s = done.status
    assert (s.succeeded, s.failed, s.active) == (3, 0, 0)
    assert s.HasField("start_time") and s.HasField("completion_time")
    assert condition(done, "Complete").reason == "CompletionsReached"  # type: ignore[union-attr]
    assert condition(done, "SuccessCriteriaMet") is not None
    pods = await pods_of(client, "pi")
    assert len(pods) == 3 and {p.status.phase for p in pods} == {"Succeeded"}
    for p in pods:
        [ref] = p.metadata.owner_references
        assert (ref.kind, ref.uid, ref.controller) == ("Job", uid, True)


async def test_the_first_status_counts_the_pods_it_created_as_active(cluster: Cluster) -> None:
    """As Kubernetes' manageJob adds what it creates to ``active``: the
    status written with the start time says 3 active, not 0 until the pods
    are seen again."""
    client = cluster.client

    created = await client.create(job("busy", "sleep infinity", parallelism=3, completions=3))

    async def first_status() -> Any:
        since = created.metadata.resource_version  # every write after the create
        async for event in client.watch("Job", "default", resource_version=since):
            if event.object is not None and event.object.status.HasField("start_time"):
                return event.object
        return None

    first = await asyncio.wait_for(first_status(), 30)
    assert first.metadata.name == "busy"
    assert (first.status.active, first.status.succeeded) == (3, 0)


async def test_failing_job_stops_at_its_backoff_limit(cluster: Cluster) -> None:
    client = cluster.client
    await client.create(job("fail", "exit 3", backoffLimit=2))
    done = await finished(client, "fail", "Failed")
    assert condition(done, "Failed").reason == "BackoffLimitExceeded"  # type: ignore[union-attr]
    assert done.status.failed == 3 and done.status.succeeded == 0
    assert not done.status.HasField("completion_time")
    pods = await pods_of(client, "fail")
    assert len(pods) == 3 and {p.status.phase for p in pods} == {"Failed"}


async def test_indexed_job_gives_each_pod_its_index(cluster: Cluster) -> None:
    client = cluster.client
    await client.create(
        job(
            "idx",
            "echo $JOB_COMPLETION_INDEX",
            completions=3,
            parallelism=3,
            completionMode="Indexed",
        )
    )
    done = await finished(client, "idx", "Complete")
    assert done.status.completed_indexes == "0-2"
    pods = await pods_of(client, "idx")
    got = {p.metadata.annotations["batch.kubernetes.io/job-completion-index"]: p for p in pods}
    assert sorted(got) == ["0", "1", "2"]
    for index, p in got.items():
        assert p.metadata.labels["batch.kubernetes.io/job-completion-index"] == index
        assert p.spec.hostname == f"idx-{index}"
        [env] = [e for e in p.spec.containers[0].env if e.name == "JOB_COMPLETION_INDEX"]
        assert env.value_from.field_ref.field_path == (
            "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        )


async def test_active_deadline_fails_a_running_job(cluster: Cluster) -> None:
    client = cluster.client
    # backoffLimit 0: the pods killed at the deadline must not turn it into BackoffLimitExceeded.
    await client.create(job("slow", "sleep infinity", activeDeadlineSeconds=1, backoffLimit=0))
    done = await finished(client, "slow", "Failed")
    assert condition(done, "Failed").reason == "DeadlineExceeded"  # type: ignore[union-attr]

    async def pods_gone() -> bool:
        return all(p.metadata.HasField("deletion_timestamp") for p in await pods_of(client, "slow"))

    await eventually(pods_gone, timeout=20)


async def test_pod_failure_policy_fail_job_and_ignore(cluster: Cluster) -> None:
    client = cluster.client
    policy = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}
    await client.create(job("policy", "exit 42", backoffLimit=6, podFailurePolicy=policy))
    done = await finished(client, "policy", "Failed")
    failed = condition(done, "Failed")
    assert failed is not None and failed.reason == "PodFailurePolicy"
    assert "exit code 42" in failed.message
    assert done.status.failed == 1


async def test_suspended_job_runs_no_pods_until_resumed(cluster: Cluster) -> None:
    client = cluster.client
    await client.create(job("later", "echo ok", suspend=True))

    async def suspended() -> Any:
        j = await client.get("Job", "later")
        return j if condition(j, "Suspended") else None

    j = await eventually(suspended)
    assert condition(j, "Suspended").reason == "JobSuspended"  # type: ignore[union-attr]
    assert await pods_of(client, "later") == []
    j.spec.suspend = False
    await client.update(j)
    done = await finished(client, "later", "Complete")
    resumed = next(c for c in done.status.conditions if c.type == "Suspended")
    assert (resumed.status, resumed.reason) == ("False", "JobResumed")


async def test_ttl_after_finished_deletes_the_job_and_its_pods(cluster: Cluster) -> None:
    client = cluster.client
    await client.create(job("brief", "echo bye", ttlSecondsAfterFinished=0))

    async def gone() -> bool:
        try:
            await client.get("Job", "brief")
        except errors.NotFoundError:
            return not await pods_of(client, "brief")
        return False

    await eventually(gone, timeout=30)


async def test_fifty_jobs_of_ten_completions_on_hollow_nodes(tmp_path: Path) -> None:
    """Batch work at scale on hollow nodes: 50 jobs x 10 completions = 500 pods."""
    c = await start_cluster(tmp_path, nodes=10, controller_options=OPTIONS)
    try:
        for i in range(50):
            await c.client.create(job(f"batch-{i}", "echo ok", completions=10, parallelism=5))

        async def all_complete() -> bool:
            items = (await c.client.list("Job", "default")).items
            return len(items) == 50 and all(condition(j, "Complete") for j in items)

        await eventually(all_complete, timeout=240, interval=0.5)
        items = (await c.client.list("Job", "default")).items
        assert {(j.status.succeeded, j.status.failed) for j in items} == {(10, 0)}
        pods = (await c.client.list("Pod", "default")).items
        assert len(pods) == 500 and {p.status.phase for p in pods} == {"Succeeded"}
        assert len({p.spec.node_name for p in pods}) == 10
    finally:
        await stop_cluster(c)
