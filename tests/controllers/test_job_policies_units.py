"""The pure parts of a Job's per-index back-off, success policy and pod
replacement policy: defaults, validation (Kubernetes' words), the success
rules, the failure counts a replacement carries, the pods kept for it and
each index's back-off."""

from __future__ import annotations

from typing import Any

import pytest
from shoal.manifest import from_dict
from shoal.plugins.controllers import job_indexes as jx
from shoal.plugins.controllers import job_util as ju
from shoal.plugins.kinds import batch_policies as bp
from shoal.plugins.kinds import batch_rules


def _job(**spec: Any) -> Any:
    pod = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
    job = from_dict(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "j", "uid": "u1"},
            "spec": {"template": {"spec": pod}, **spec},
        }
    )
    batch_rules.generate_selector(job)
    batch_rules.default_job(job)
    return job


def _indexed(**spec: Any) -> Any:
    return _job(completionMode="Indexed", completions=spec.pop("completions", 4), **spec)


def _causes(job: Any) -> dict[str, str]:
    return dict(batch_rules.validate_job(job))


def test_defaults_as_kubernetes() -> None:
    plain = _job()
    assert plain.spec.pod_replacement_policy == "TerminatingOrFailed"
    assert plain.spec.backoff_limit == 6 and not plain.spec.HasField("backoff_limit_per_index")
    with_policy = _job(
        podFailurePolicy={
            "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]
        }
    )
    assert with_policy.spec.pod_replacement_policy == "Failed"
    per_index = _indexed(backoffLimitPerIndex=1)
    assert per_index.spec.backoff_limit == 2**31 - 1
    assert _indexed(backoffLimitPerIndex=1, backoffLimit=3).spec.backoff_limit == 3
    assert _causes(per_index) == {}


@pytest.mark.parametrize(
    ("spec", "path", "message"),
    [
        (
            {"backoffLimitPerIndex": 1},
            "spec.backoffLimitPerIndex",
            "Invalid value: 1: requires indexed completion mode",
        ),
        (
            {"completionMode": "Indexed", "completions": 4, "maxFailedIndexes": 1},
            "spec.backoffLimitPerIndex",
            "Required value: when maxFailedIndexes is specified",
        ),
        (
            {"completionMode": "Indexed", "completions": 4, "backoffLimitPerIndex": -1},
            "spec.backoffLimitPerIndex",
            "Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            {
                "completionMode": "Indexed",
                "completions": 4,
                "backoffLimitPerIndex": 1,
                "maxFailedIndexes": 5,
            },
            "spec.maxFailedIndexes",
            "Invalid value: 5: must be less than or equal to completions",
        ),
        (
            {"successPolicy": {"rules": [{"succeededCount": 1}]}},
            "spec.successPolicy",
            "Invalid value: requires indexed completion mode",
        ),
        (
            {"completionMode": "Indexed", "completions": 4, "successPolicy": {"rules": [{}]}},
            "spec.successPolicy.rules[0]",
            "Required value: at least one of succeededCount or succeededIndexes must be specified",
        ),
        (
            {"completionMode": "Indexed", "completions": 4, "successPolicy": {"rules": []}},
            "spec.successPolicy.rules",
            "Required value: at least one rules must be specified when the successPolicy "
            "is specified",
        ),
        (
            {
                "completionMode": "Indexed",
                "completions": 4,
                "successPolicy": {"rules": [{"succeededIndexes": "0,2-5"}]},
            },
            "spec.successPolicy.rules[0].succeededIndexes",
            'Invalid value: "0,2-5": error parsing succeededIndexes: too large index: "5"',
        ),
        (
            {
                "completionMode": "Indexed",
                "completions": 4,
                "successPolicy": {"rules": [{"succeededIndexes": "2,1"}]},
            },
            "spec.successPolicy.rules[0].succeededIndexes",
            'Invalid value: "2,1": error parsing succeededIndexes: non-increasing order, '
            "previous: 2, current: 1",
        ),
        (
            {
                "completionMode": "Indexed",
                "completions": 4,
                "successPolicy": {"rules": [{"succeededIndexes": "x"}]},
            },
            "spec.successPolicy.rules[0].succeededIndexes",
            'Invalid value: "x": error parsing succeededIndexes: cannot convert string to '
            'integer for index: "x"',
        ),
        (
            {
                "completionMode": "Indexed",
                "completions": 4,
                "successPolicy": {"rules": [{"succeededIndexes": "0-1", "succeededCount": 3}]},
            },
            "spec.successPolicy.rules[0].succeededCount",
            "Invalid value: 3: must be less than or equal to 2 (the number of indexes in the "
            "specified succeededIndexes field)",
        ),
        (
            {"podReplacementPolicy": "Sometimes"},
            "spec.podReplacementPolicy",
            'Unsupported value: "Sometimes": supported values: "Failed", "TerminatingOrFailed"',
        ),
        (
            {
                "podReplacementPolicy": "TerminatingOrFailed",
                "podFailurePolicy": {
                    "rules": [
                        {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [1]}}
                    ]
                },
            },
            "spec.podReplacementPolicy",
            'Unsupported value: "TerminatingOrFailed": supported values: "Failed"',
        ),
        (
            {
                "podFailurePolicy": {
                    "rules": [
                        {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [1]}}
                    ]
                }
            },
            "spec.podFailurePolicy.rules[0].action",
            'Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
        ),
    ],
)
def test_refusals_say_what_kubernetes_says(spec: dict[str, Any], path: str, message: str) -> None:
    assert _causes(_job(**spec)).get(path) == message


def test_fail_index_is_taken_with_a_per_index_limit() -> None:
    job = _indexed(
        backoffLimitPerIndex=1,
        podFailurePolicy={
            "rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}}]
        },
    )
    assert _causes(job) == {}


def test_the_policies_are_immutable() -> None:
    old = _indexed(backoffLimitPerIndex=1, successPolicy={"rules": [{"succeededCount": 1}]})
    new = from_dict({"apiVersion": "batch/v1", "kind": "Job"})
    new.CopyFrom(old)
    new.spec.backoff_limit_per_index = 2
    new.spec.success_policy.rules[0].succeeded_count = 2
    paths = [p for p, _ in batch_rules.validate_job_update(old, new)]
    assert paths == ["spec.backoffLimitPerIndex", "spec.successPolicy"]
    new.CopyFrom(old)
    new.spec.max_failed_indexes = 1  # mutable, as in Kubernetes
    assert batch_rules.validate_job_update(old, new) == []


def test_failed_indexes_status_is_checked() -> None:
    job = _indexed(backoffLimitPerIndex=1)
    job.status.failed_indexes = "1,3"
    assert _causes(job) == {}
    job.status.failed_indexes = "3-9"
    assert _causes(job)["status.failedIndexes"] == (
        'Invalid value: "3-9": error parsing failedIndexes: too large index: "9"'
    )
    plain = _indexed()
    plain.status.failed_indexes = ""
    assert "cannot set non-null failedIndexes" in _causes(plain)["status.failedIndexes"]


@pytest.mark.parametrize(
    ("rules", "succeeded", "met"),
    [
        ([{"succeededIndexes": "0,2-3", "succeededCount": 1}], {2}, "Matched rules at index 0"),
        ([{"succeededIndexes": "0,2-3", "succeededCount": 2}], {2, 1}, None),
        ([{"succeededIndexes": "0-1"}], {0}, None),
        ([{"succeededIndexes": "0-1"}, {"succeededCount": 2}], {0, 3}, "Matched rules at index 1"),
        ([{"succeededIndexes": "0-1"}], {0, 1}, "Matched rules at index 0"),
        ([{"succeededCount": 1}], set(), None),
    ],
)
def test_success_policy_rules(
    rules: list[dict[str, Any]], succeeded: set[int], met: str | None
) -> None:
    job = _indexed(successPolicy={"rules": rules})
    assert ju.match_success_policy(job, succeeded) == met


def _pod(index: int, phase: str, counts: tuple[int, int] = (0, 0), ended: int = 100) -> Any:
    annotations = {"batch.kubernetes.io/job-completion-index": str(index)}
    if counts[0] or counts[1]:
        annotations[bp.INDEX_FAILURE_COUNT] = str(counts[0])
        annotations[bp.INDEX_IGNORED_FAILURE_COUNT] = str(counts[1])
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"p{index}-{counts[0]}",
                "uid": f"u{index}-{counts[0]}-{counts[1]}",
                "namespace": "default",
                "annotations": annotations,
                "finalizers": ["batch.kubernetes.io/job-tracking"],
            },
            "status": {
                "phase": phase,
                "containerStatuses": [
                    {
                        "name": "c",
                        "state": {
                            "terminated": {
                                "exitCode": 1 if phase == "Failed" else 0,
                                "finishedAt": f"2026-01-01T00:00:{ended % 60:02d}Z",
                            }
                        },
                    }
                ],
            },
        }
    )


def test_a_replacement_carries_the_index_failures() -> None:
    job = _indexed(backoffLimitPerIndex=2)
    assert ju.next_failure_counts(job, None) == (0, 0)
    assert ju.next_failure_counts(job, _pod(1, "Failed", (1, 0))) == (2, 0)
    pod = ju.new_pod(job, 1, _pod(1, "Failed", (1, 0)))
    assert pod.metadata.annotations[bp.INDEX_FAILURE_COUNT] == "2"
    assert bp.INDEX_IGNORED_FAILURE_COUNT not in pod.metadata.annotations
    first = ju.new_pod(job, 0)
    assert first.metadata.annotations[bp.INDEX_FAILURE_COUNT] == "0"
    # Ignored failures are counted apart, and only they grow for an Ignore match.
    ignoring = _indexed(
        backoffLimitPerIndex=2,
        podFailurePolicy={
            "rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [1]}}]
        },
    )
    assert ju.next_failure_counts(ignoring, _pod(1, "Failed", (1, 0))) == (1, 1)
    # A count that is not an int32 reads as 0, as Kubernetes reads it.
    bad = _pod(1, "Failed")
    bad.metadata.annotations[bp.INDEX_FAILURE_COUNT] = "99999999999"
    assert ju.failure_counts(bad) == (0, 0)


def test_an_index_fails_at_its_limit() -> None:
    job = _indexed(backoffLimitPerIndex=1)
    assert not jx.index_failed(job, _pod(1, "Failed", (0, 0)))
    assert jx.index_failed(job, _pod(1, "Failed", (1, 0)))
    assert not jx.index_failed(job, _pod(1, "Running", (1, 0)))
    assert jx.failed_indexes(job, [_pod(1, "Failed", (1, 0))], lambda p: True) == {1}
    job.status.failed_indexes = "3"
    assert jx.failed_indexes(job, [_pod(1, "Failed", (1, 0))], lambda p: False) == {3}


def test_the_last_failed_pod_of_an_unsettled_index_is_kept() -> None:
    job = _indexed(backoffLimitPerIndex=3)
    older, newer = _pod(1, "Failed", (0, 0), ended=10), _pod(1, "Failed", (1, 0), ended=20)
    settled = _pod(2, "Failed", ended=5)
    kept = jx.delayed_pods(job, [newer, older, settled], lambda p: True, {2})
    assert kept == {1: newer}


def test_each_index_waits_its_own_back_off() -> None:
    failed_once = _pod(1, "Failed", (0, 0), ended=0)  # 2026-01-01T00:00:00Z
    failed_twice = _pod(2, "Failed", (1, 0), ended=0)
    t0 = ju.finished_at(failed_once)
    delayed = {1: failed_once, 2: failed_twice}
    assert jx.ready_indexes([0, 1, 2], delayed, t0 + 1, 10, 360) == ([0], 0.0)
    assert jx.ready_indexes([1, 2], delayed, t0 + 1, 10, 360) == ([], 9.0)
    assert jx.ready_indexes([1, 2], delayed, t0 + 10, 10, 360) == ([1], 0.0)
    assert jx.ready_indexes([1, 2], delayed, t0 + 20, 10, 360) == ([1, 2], 0.0)
