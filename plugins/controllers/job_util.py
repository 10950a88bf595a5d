"""The pure parts of the Job controller: conditions, the pod failure policy,
completion indexes, back-off and the pods a job runs (Kubernetes'
``pkg/controller/job`` helpers), kept free of I/O so they are unit-tested
on their own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from shoal.api.v1 import core_pb2
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers.job_tracking import TRACKING
from shoal.plugins.kinds.batch_managed_by import JOB_CONTROLLER
from shoal.plugins.kinds.batch_policies import INDEX_FAILURE_COUNT, INDEX_IGNORED_FAILURE_COUNT
from shoal.plugins.kinds.batch_rules import COMPLETION_INDEX

# Kubernetes' job back-off: 10 s doubling per failure, at most 6 minutes.
DEFAULT_BACKOFF = 10.0
MAX_BACKOFF = 360.0

COMPLETE, FAILED, SUSPENDED = "Complete", "Failed", "Suspended"
FAILURE_TARGET, SUCCESS_CRITERIA_MET = "FailureTarget", "SuccessCriteriaMet"

# (reason, message) of the conditions, as Kubernetes writes them.
COMPLETIONS_REACHED = ("CompletionsReached", "Reached expected number of succeeded pods")
BACKOFF_LIMIT_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")
JOB_SUSPENDED = ("JobSuspended", "Job suspended")
JOB_RESUMED = ("JobResumed", "Job resumed")
MAX_FAILED_INDEXES_EXCEEDED = (
    "MaxFailedIndexesExceeded",
    "Job has exceeded the specified maximal number of failed indexes",
)
FAILED_INDEXES = ("FailedIndexes", "Job has failed indexes")
SUCCESS_POLICY = "SuccessPolicy"


def stamp(now: float) -> Timestamp:
    return Timestamp(seconds=int(now))


def condition(job: Any, kind: str) -> Any | None:
    for c in job.status.conditions:
        if c.type == kind:
            return c
    return None


def has_condition(job: Any, kind: str) -> bool:
    c = condition(job, kind)
    return c is not None and c.status == "True"


def managed_here(job: Any) -> bool:
    """Kubernetes' isJobManagedByController: no spec.managedBy, or this
    controller's name; a job another controller manages is left alone."""
    return not job.spec.HasField("managed_by") or job.spec.managed_by == JOB_CONTROLLER


def is_finished(job: Any) -> bool:
    return has_condition(job, COMPLETE) or has_condition(job, FAILED)


def finish_time(job: Any) -> float | None:
    """When the job's Complete or Failed condition turned True."""
    for kind in (COMPLETE, FAILED):
        c = condition(job, kind)
        if c is not None and c.status == "True":
            return c.last_transition_time.seconds + c.last_transition_time.nanos / 1e9
    return None


def set_condition(status: Any, kind: str, value: str, why: tuple[str, str], now: float) -> bool:
    """Set a condition; the transition time moves only when the status does.
    Returns whether anything changed."""
    reason, message = why
    for c in status.conditions:
        if c.type == kind:
            if (c.status, c.reason, c.message) == (value, reason, message):
                return False
            if c.status != value:
                c.last_transition_time.CopyFrom(stamp(now))
            c.status, c.reason, c.message = value, reason, message
            c.last_probe_time.CopyFrom(stamp(now))
            return True
    status.conditions.add(
        type=kind,
        status=value,
        reason=reason,
        message=message,
        last_probe_time=stamp(now),
        last_transition_time=stamp(now),
    )
    return True


# -- pods ----------------------------------------------------------------------


def pod_index(pod: Any) -> int | None:
    """The completion index of an Indexed job's pod (annotation, then label)."""
    text = pod.metadata.annotations.get(COMPLETION_INDEX) or pod.metadata.labels.get(
        COMPLETION_INDEX
    )
    if text is None or not text.isdigit():
        return None
    return int(text)


def finished_at(pod: Any) -> float:
    """When a finished pod's last container ended (else its creation)."""
    ends = [
        s.state.terminated.finished_at.seconds
        for s in pod.status.container_statuses
        if s.state.HasField("terminated")
    ]
    return float(max(ends, default=pod.metadata.creation_timestamp.seconds))


def new_pod(job: Any, index: int | None, replaced: Any | None = None) -> core_pb2.Pod:
    """A pod of ``job`` from its template, holding the tracking finalizer;
    with an index, Indexed mode's annotation, label, ``JOB_COMPLETION_INDEX``
    and hostname, and with backoffLimitPerIndex the index's failure counts
    (one more than those of the failed pod it ``replaced``)."""
    template = job.spec.template
    pod = core_pb2.Pod(spec=template.spec)
    m = pod.metadata
    m.namespace = job.metadata.namespace
    m.generate_name = f"{job.metadata.name}-" if index is None else f"{job.metadata.name}-{index}-"
    m.labels.update(template.metadata.labels)
    m.annotations.update(template.metadata.annotations)
    m.finalizers.extend(template.metadata.finalizers)
    if TRACKING not in m.finalizers:
        m.finalizers.append(TRACKING)
    m.owner_references.append(podutil.controller_ref(job))
    if index is not None:
        m.annotations[COMPLETION_INDEX] = str(index)
        m.labels[COMPLETION_INDEX] = str(index)
        if not pod.spec.hostname:
            pod.spec.hostname = f"{job.metadata.name}-{index}"
        for c in list(pod.spec.init_containers) + list(pod.spec.containers):
            if not any(e.name == "JOB_COMPLETION_INDEX" for e in c.env):
                env = c.env.add(name="JOB_COMPLETION_INDEX")
                env.value_from.field_ref.field_path = f"metadata.annotations['{COMPLETION_INDEX}']"
        if job.spec.HasField("backoff_limit_per_index"):
            counted, ignored = next_failure_counts(job, replaced)
            m.annotations[INDEX_FAILURE_COUNT] = str(counted)
            if ignored:
                m.annotations[INDEX_IGNORED_FAILURE_COUNT] = str(ignored)
    return pod


# -- per-index back-off ------------------------------------------------------------


def _count_annotation(pod: Any, key: str) -> int:
    """An index failure count annotation; 0 when absent or not an int32 >= 0."""
    text = pod.metadata.annotations.get(key, "")
    if not (text.isascii() and text.isdigit()) or int(text) >= 2**31:
        return 0
    return int(text)


def failure_counts(pod: Any) -> tuple[int, int]:
    """(counted, ignored) failures of a pod's index before this pod."""
    return _count_annotation(pod, INDEX_FAILURE_COUNT), _count_annotation(
        pod, INDEX_IGNORED_FAILURE_COUNT
    )


def counts_failure(job: Any, pod: Any) -> bool:
    """A failed pod counts against its index unless an Ignore rule matches."""
    return match_failure_policy(job, pod).action != "Ignore"


def next_failure_counts(job: Any, replaced: Any | None) -> tuple[int, int]:
    """The counts a replacement of ``replaced`` carries (Kubernetes'
    getNewIndexFailureCounts); (0, 0) for an index's first pod."""
    if replaced is None:
        return 0, 0
    counted, ignored = failure_counts(replaced)
    if counts_failure(job, replaced):
        return counted + 1, ignored
    return counted, ignored + 1


def match_success_policy(job: Any, succeeded: set[int]) -> str | None:
    """The message of the first success policy rule the succeeded indexes
    meet ("Matched rules at index 0"), as Kubernetes' matchSuccessPolicy."""
    if not succeeded:
        return None
    completions = job.spec.completions
    for i, rule in enumerate(job.spec.success_policy.rules):
        wanted = rule.succeeded_count if rule.HasField("succeeded_count") else None
        if rule.HasField("succeeded_indexes"):
            required = parse_indexes(rule.succeeded_indexes, completions)
            if not required:
                continue
            contains = len(required & succeeded)
            if contains == len(required) or (wanted is not None and contains >= wanted):
                return f"Matched rules at index {i}"
        elif wanted is not None and len(succeeded) >= wanted:
            return f"Matched rules at index {i}"
    return None


def backoff_delay(failures: int, base: float = DEFAULT_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait before replacing a pod after ``failures`` failures in a row."""
    if failures <= 0:
        return 0.0
    return float(min(cap, base * 2 ** (failures - 1)))


# -- the pod failure policy ------------------------------------------------------


@dataclass(frozen=True)
class FailureMatch:
    action: str  # FailJob, Ignore, Count
    message: str = ""


def _exit_code_match(pod: Any, rule: Any) -> tuple[str, int] | None:
    req = rule.on_exit_codes
    values = set(req.values)
    for s in list(pod.status.init_container_statuses) + list(pod.status.container_statuses):
        if req.HasField("container_name") and s.name != req.container_name:
            continue
        if not s.state.HasField("terminated"):
            continue
        code = s.state.terminated.exit_code
        if code == 0:
            continue
        if (req.operator == "In") == (code in values):
            return s.name, code
    return None


def match_failure_policy(job: Any, pod: Any) -> FailureMatch:
    """The action of the first rule matching a failed pod (Count if none)."""
    for i, rule in enumerate(job.spec.pod_failure_policy.rules):
        if rule.HasField("on_exit_codes"):
            found = _exit_code_match(pod, rule)
            if found is not None:
                name, code = found
                return FailureMatch(
                    rule.action,
                    f"Container {name} for pod {pod.metadata.namespace}/{pod.metadata.name} "
                    f"failed with exit code {code} matching {rule.action} rule at index {i}",
                )
        for pattern in rule.on_pod_conditions:
            if any(
                c.type == pattern.type and c.status == pattern.status for c in pod.status.conditions
            ):
                return FailureMatch(
                    rule.action,
                    f"Pod {pod.metadata.namespace}/{pod.metadata.name} has condition "
                    f"{pattern.type} matching {rule.action} rule at index {i}",
                )
    return FailureMatch("Count")


# -- completed indexes ("1,3-5,7") -------------------------------------------------


def parse_indexes(text: str, limit: int) -> set[int]:
    out: set[int] = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            continue
        out.update(i for i in range(int(first), int(last or first) + 1) if i < limit)
    return out


def format_indexes(indexes: Iterable[int]) -> str:
    """Kubernetes' orderedIntervals.String: "0-2,5,7,8" (two in a row are
    listed, three or more are a range)."""
    runs: list[list[int]] = []
    for i in sorted(set(indexes)):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    parts = []
    for first, last in runs:
        if first == last:
            parts.append(str(first))
        else:
            parts.append(f"{first}{',' if last == first + 1 else '-'}{last}")
    return ",".join(parts)
