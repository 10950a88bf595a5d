"""Indexed jobs with ``backoffLimitPerIndex`` (Kubernetes' per-index back-off,
``indexed_job_utils.go``): each index counts its own failures, carried from
a failed pod to its replacement in the ``job-index-failure-count``
annotation; an index whose pod fails with the count at the limit (or
matches a FailIndex rule) is failed for good and never run again.

So that the count can be carried, the finalizer of an index's last failed
pod stays until its replacement exists ("delayed deletion"); the back-off
before that replacement is the index's own (10 s doubling per failure).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shoal.plugins.controllers import job_util as ju
from shoal.plugins.kinds.batch_policies import only_replace_failed


def is_pod_failed(job: Any, pod: Any) -> bool:
    """Kubernetes' isPodFailed: Failed, or being deleted before it finished
    (unless only failed pods are replaced)."""
    if pod.status.phase == "Failed":
        return True
    if only_replace_failed(job.spec):
        return False
    return pod.metadata.HasField("deletion_timestamp") and pod.status.phase != "Succeeded"


def index_failed(job: Any, pod: Any) -> bool:
    """Kubernetes' isIndexFailed: the pod failed and its index may not retry."""
    if not is_pod_failed(job, pod):
        return False
    match = ju.match_failure_policy(job, pod)
    if match.action == "FailIndex":
        return True
    counted, _ = ju.failure_counts(pod)
    return match.action != "Ignore" and counted >= job.spec.backoff_limit_per_index


def _valid_index(job: Any, pod: Any) -> int | None:
    i = ju.pod_index(pod)
    return i if i is not None and i < job.spec.completions else None


def failed_indexes(job: Any, pods: Iterable[Any], tracked: Callable[[Any], bool]) -> set[int]:
    """status.failedIndexes and the indexes failed since (by pods not yet counted)."""
    failed = ju.parse_indexes(job.status.failed_indexes, job.spec.completions)
    for pod in pods:
        i = _valid_index(job, pod)
        if i is not None and tracked(pod) and index_failed(job, pod):
            failed.add(i)
    return failed


def delayed_pods(
    job: Any,
    pods: Iterable[Any],
    tracked: Callable[[Any], bool],
    settled: set[int],
) -> dict[int, Any]:
    """The last failed pod of each index still to be retried (not in
    ``settled``: succeeded, failed or running): its finalizer stays until the
    replacement is made from its counts."""
    delayed: dict[int, Any] = {}
    for pod in pods:
        i = _valid_index(job, pod)
        if i is None or i in settled or not tracked(pod) or not is_pod_failed(job, pod):
            continue
        last = delayed.get(i)
        if last is None or (
            sum(ju.failure_counts(last)) <= sum(ju.failure_counts(pod))
            and ju.finished_at(pod) >= ju.finished_at(last)
        ):
            delayed[i] = pod
    return delayed


def ready_indexes(
    pending: list[int],
    delayed: dict[int, Any],
    now: float,
    base: float,
    cap: float,
) -> tuple[list[int], float]:
    """The pending indexes whose back-off has passed; when none has, the
    seconds until the first will (Kubernetes' getPodCreationInfoForIndependentIndexes)."""
    ready: list[int] = []
    waits: list[float] = []
    for i in pending:
        last = delayed.get(i)
        if last is None:
            ready.append(i)
            continue
        failures = sum(ju.failure_counts(last)) + 1
        left = ju.finished_at(last) + ju.backoff_delay(failures, base, cap) - now
        if left <= 0:
            ready.append(i)
        else:
            waits.append(left)
    return ready, (0.0 if ready or not waits else min(waits))
