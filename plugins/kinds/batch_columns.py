"""kubectl 1.32's columns for Jobs and CronJobs (``printJob``,
``printCronJob`` in Kubernetes' ``pkg/printers/internalversion``); NAME
comes first, from the table printer."""

from __future__ import annotations

from typing import Any

from shoal.age import age, human_duration, parse_time
from shoal.plugins.kinds.columns import labels_selector
from shoal.strategy import Table

Obj = dict[str, Any]

# kubectl's order: the first condition found in this list names the status.
_STATUS_ORDER = ("Complete", "Failed", "Suspended", "FailureTarget", "SuccessCriteriaMet")


def _has_condition(status: Obj, kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or []
    )


def job_status(obj: Obj) -> str:
    status = obj.get("status") or {}
    for kind in _STATUS_ORDER[:2]:
        if _has_condition(status, kind):
            return kind
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    for kind in _STATUS_ORDER[2:]:
        if _has_condition(status, kind):
            return kind
    return "Running"


def job_completions(obj: Obj) -> str:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = status.get("succeeded") or 0
    if spec.get("completions") is not None:
        return f"{succeeded}/{spec['completions']}"
    parallelism = spec.get("parallelism") or 0
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(obj: Obj, now: float) -> str:
    status = obj.get("status") or {}
    start = parse_time(status.get("startTime") or "")
    if start is None:
        return ""
    end = parse_time(status.get("completionTime") or "")
    return human_duration((now if end is None else end) - start)


def job(obj: Obj, now: float) -> list[str]:
    created = (obj.get("metadata") or {}).get("creationTimestamp", "")
    return [job_status(obj), job_completions(obj), job_duration(obj, now), age(created, now)]


def _containers(spec: Obj) -> list[str]:
    pod = ((spec.get("template") or {}).get("spec")) or {}
    containers = pod.get("containers") or []
    return [
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        labels_selector(spec.get("selector")),
    ]


def job_wide(obj: Obj, now: float) -> list[str]:
    return _containers(obj.get("spec") or {})


def cron_job(obj: Obj, now: float) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = status.get("lastScheduleTime")
    suspend = spec.get("suspend")
    created = (obj.get("metadata") or {}).get("creationTimestamp", "")
    return [
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        "<unset>" if suspend is None else str(bool(suspend)),
        str(len(status.get("active") or [])),
        age(last, now) if last else "<none>",
        age(created, now),
    ]


def cron_job_wide(obj: Obj, now: float) -> list[str]:
    return _containers(((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {})


_WIDE = ("CONTAINERS", "IMAGES", "SELECTOR")
JOB = Table(("STATUS", "COMPLETIONS", "DURATION", "AGE"), job, _WIDE, job_wide)
CRON_JOB = Table(
    ("SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"),
    cron_job,
    _WIDE,
    cron_job_wide,
)
