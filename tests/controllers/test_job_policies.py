"""Jobs with Kubernetes' per-index back-off (backoffLimitPerIndex,
maxFailedIndexes), success policy and pod replacement policy, on hollow
nodes (the fake runtime's containers exit as their command says; an
Indexed pod's ``$JOB_COMPLETION_INDEX`` picks its exit code or its sleep)."""

from __future__ import annotations

from typing import Any

from shoal.agent.testing import Cluster
from shoal.api.v1 import policy_pb2
from shoal.client import Client

from tests.controllers.test_job import cluster, condition, finished, job, pods_of
from tests.integration.helpers import eventually

FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX = "batch.kubernetes.io/job-completion-index"
__all__ = ["cluster"]  # the hollow-node cluster fixture of test_job


def indexed(name: str, command: str, completions: int = 4, **spec: Any) -> Any:
    return job(
        name,
        command,
        completions=completions,
        parallelism=spec.pop("parallelism", completions),
        completionMode="Indexed",
        **spec,
    )


async def test_each_index_retries_up_to_its_own_limit(cluster: Cluster) -> None:
    """Kubernetes' documented example, in small: index 0 succeeds, 1-3 fail
    every time; each failing index runs twice (backoffLimitPerIndex 1), the
    job runs every index and then fails with FailedIndexes."""
    client = cluster.client
    await client.create(indexed("per-index", "exit $JOB_COMPLETION_INDEX", backoffLimitPerIndex=1))
    done = await finished(client, "per-index", "Failed")
    assert condition(done, "Failed").reason == "FailedIndexes"  # type: ignore[union-attr]
    assert condition(done, "Failed").message == "Job has failed indexes"  # type: ignore[union-attr]
    s = done.status
    assert (s.completed_indexes, s.failed_indexes, s.succeeded, s.failed) == ("0", "1-3", 1, 6)
    assert done.spec.backoff_limit == 2**31 - 1  # defaulted: the per-index limit rules
    by_index: dict[str, list[str]] = {}
    for p in await pods_of(client, "per-index"):
        by_index.setdefault(p.metadata.annotations[INDEX], []).append(
            p.metadata.annotations[FAILURE_COUNT]
        )
    assert {i: sorted(c) for i, c in by_index.items()} == {
        "0": ["0"],
        "1": ["0", "1"],
        "2": ["0", "1"],
        "3": ["0", "1"],
    }


async def test_too_many_failed_indexes_fail_the_job_at_once(cluster: Cluster) -> None:
    client = cluster.client
    await client.create(
        indexed(
            "max-failed",
            "exit $JOB_COMPLETION_INDEX",
            backoffLimitPerIndex=0,
            maxFailedIndexes=1,
        )
    )
    done = await finished(client, "max-failed", "Failed")
    failed = condition(done, "Failed")
    assert failed is not None and failed.reason == "MaxFailedIndexesExceeded"
    assert failed.message == "Job has exceeded the specified maximal number of failed indexes"
    assert len(done.status.failed_indexes.replace("-", ",").split(",")) >= 2


async def test_a_fail_index_rule_fails_only_that_index(cluster: Cluster) -> None:
    client = cluster.client
    await client.create(
        indexed(
            "fail-index",
            "exit $JOB_COMPLETION_INDEX",
            completions=3,
            backoffLimitPerIndex=5,
            podFailurePolicy={
                "rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [2]}}]
            },
        )
    )
    done = await finished(client, "fail-index", "Failed")
    # Index 2 failed at once; index 1 (exit 1) used its 5 retries.
    assert (done.status.completed_indexes, done.status.failed_indexes) == ("0", "1,2")
    index_2 = [
        p for p in await pods_of(client, "fail-index") if p.metadata.annotations[INDEX] == "2"
    ]
    assert len(index_2) == 1
    assert done.status.failed == 7


async def test_the_success_policy_completes_the_job_and_stops_the_rest(cluster: Cluster) -> None:
    """Kubernetes' documented rule: one of indexes 0, 2 and 3 suffices.
    Index 0 ends at once; the others would sleep for minutes."""
    client = cluster.client
    await client.create(
        indexed(
            "success-policy",
            "sleep ${JOB_COMPLETION_INDEX}00",
            successPolicy={"rules": [{"succeededIndexes": "0,2-3", "succeededCount": 1}]},
        )
    )
    done = await finished(client, "success-policy", "Complete")
    for kind in ("SuccessCriteriaMet", "Complete"):
        c = condition(done, kind)
        assert c is not None and (c.reason, c.message) == (
            "SuccessPolicy",
            "Matched rules at index 0",
        )
    assert (done.status.completed_indexes, done.status.succeeded) == ("0", 1)
    assert done.status.active == 0 and done.status.terminating == 0
    assert done.status.HasField("completion_time")

    async def others_gone() -> bool:
        pods = await pods_of(client, "success-policy")
        return [p.metadata.annotations[INDEX] for p in pods] == ["0"]

    await eventually(others_gone, timeout=30)


def _slow_to_stop() -> dict[str, Any]:
    """A pod that ignores SIGTERM: deleting it takes its 2 s grace period."""
    return {"terminationGracePeriodSeconds": 2}


async def _delete_the_running_pod(client: Client, name: str) -> Any:
    async def running() -> Any:
        pods = await pods_of(client, name)
        return pods[0] if len(pods) == 1 and pods[0].status.phase == "Running" else None

    pod = await eventually(running, timeout=30)
    await client.delete("Pod", pod.metadata.name, "default")
    return pod


def _sleeper(name: str, **spec: Any) -> Any:
    j = job(name, "sleep 3600", pod=_slow_to_stop(), **spec)
    j.spec.template.metadata.annotations["fake.shoal.io/ignore-sigterm"] = "true"
    return j


async def test_replacement_waits_for_a_deleted_pod_with_policy_failed(cluster: Cluster) -> None:
    client = cluster.client
    await client.create(_sleeper("wait-failed", podReplacementPolicy="Failed"))
    old = await _delete_the_running_pod(client, "wait-failed")

    async def counted_terminating() -> Any:
        j = await client.get("Job", "wait-failed")
        return j if j.status.terminating == 1 else None

    await eventually(counted_terminating, timeout=30)
    # The sync that counted it terminating made no replacement.
    pods = await pods_of(client, "wait-failed")
    assert [p.metadata.uid for p in pods] == [old.metadata.uid]

    async def replaced() -> Any:
        pods = await pods_of(client, "wait-failed")
        return pods if len(pods) == 1 and pods[0].metadata.uid != old.metadata.uid else None

    await eventually(replaced, timeout=30)

    async def counted_failed() -> Any:
        j = await client.get("Job", "wait-failed")
        return j if j.status.failed == 1 and j.status.terminating == 0 else None

    # Once its node wrote it Failed, the deleted pod counts as a failure.
    await eventually(counted_failed, timeout=30)


async def test_a_deleted_pod_is_replaced_at_once_by_default(cluster: Cluster) -> None:
    client = cluster.client
    created = await client.create(_sleeper("replace-now"))
    assert created.spec.pod_replacement_policy == "TerminatingOrFailed"
    old = await _delete_the_running_pod(client, "replace-now")

    async def both() -> Any:
        pods = {p.metadata.uid: p for p in await pods_of(client, "replace-now")}
        stopping = pods.get(old.metadata.uid)
        fresh = [p for uid, p in pods.items() if uid != old.metadata.uid]
        return stopping is not None and stopping.metadata.HasField("deletion_timestamp") and fresh

    await eventually(both, timeout=30)


async def test_a_drained_pod_is_not_a_failure_under_the_documented_policy(
    cluster: Cluster,
) -> None:
    """Kubernetes' documented pod failure policy: FailJob on exit code 42,
    Ignore on DisruptionTarget. Evicting the job's pod (what `kubectl drain`
    does) marks it DisruptionTarget, its node writes it Failed, and the job
    ignores that failure: failed stays 0 and a new pod takes its place."""
    client = cluster.client
    created = await client.create(
        job(
            "drained",
            "sleep 3600",
            backoffLimit=0,
            podFailurePolicy={
                "rules": [
                    {
                        "action": "FailJob",
                        "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]},
                    },
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                ]
            },
        )
    )
    assert created.spec.pod_replacement_policy == "Failed"

    async def running() -> Any:
        pods = await pods_of(client, "drained")
        return pods[0] if len(pods) == 1 and pods[0].status.phase == "Running" else None

    old = await eventually(running, timeout=30)
    eviction = policy_pb2.Eviction()
    eviction.metadata.name, eviction.metadata.namespace = old.metadata.name, "default"
    await client.create(eviction)

    async def replaced() -> Any:
        pods = await pods_of(client, "drained")
        fresh = [p for p in pods if p.metadata.uid != old.metadata.uid]
        return fresh if len(pods) == 1 and fresh else None

    await eventually(replaced, timeout=30)
    j = await client.get("Job", "drained")
    assert j.status.failed == 0 and condition(j, "Failed") is None
