"""Defaulting and validation of the ``batch/v1`` kinds, after Kubernetes'
``pkg/apis/batch/v1/defaults.go`` and ``pkg/apis/batch/validation``.

A Job's selector and the labels that tie its pods to it are generated as
Kubernetes' job strategy generates them (unless ``manualSelector``):
``batch.kubernetes.io/controller-uid`` (and the legacy ``controller-uid``)
hold the job's uid, ``batch.kubernetes.io/job-name`` (and ``job-name``)
its name, and the selector matches the uid label.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from croniter import croniter
from shoal import selectors
from shoal.apiserver import defaults
from shoal.apiserver.validate import validate_pod_template
from shoal.plugins.kinds.batch_managed_by import validate_managed_by
from shoal.plugins.kinds.batch_policies import (
    default_policies,
    validate_failed_indexes,
    validate_policies,
    validate_policies_update,
)
from shoal.strategy import Causes

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
LEGACY_CONTROLLER_UID = "controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_JOB_NAME = "job-name"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"

COMPLETION_MODES = ("NonIndexed", "Indexed")
JOB_RESTART_POLICIES = ("OnFailure", "Never")
FAILURE_ACTIONS = ("Count", "FailJob", "FailIndex", "Ignore")
EXIT_CODE_OPERATORS = ("In", "NotIn")
CONDITION_STATUSES = ("True", "False", "Unknown")
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
MAX_INDEXED_COMPLETIONS = 100_000
# A CronJob's name plus "-" and an 11-digit minute count makes its job's
# name, which is a label value (63 characters): Kubernetes allows 52.
MAX_CRONJOB_NAME = 52
# Kubernetes' cron accepts these descriptors besides five fields.
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
EVERY = "@every "
# Go's time.ParseDuration: one or more <number><unit>, a sign first; "0" alone
_GO_DURATION = re.compile(r"[-+]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)")
_GO_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
             "h": 3600.0}  # fmt: skip


def every_seconds(schedule: str) -> int | None:
    """The delay of an ``@every <duration>`` schedule in whole seconds (None
    for any other schedule), as Kubernetes' cron library reads it: a Go
    duration, truncated to seconds, at least one second."""
    text = schedule.strip()
    if not text.startswith(EVERY):
        return None
    word = text[len(EVERY) :].strip()
    if not _GO_DURATION.fullmatch(word):
        return None
    seconds = sum(float(n) * _GO_UNITS[u] for n, u in _GO_PART.findall(word))
    if word.startswith("-"):
        seconds = -seconds
    return max(1, int(seconds))


def _negative(path: str, value: int) -> Causes:
    if value < 0:
        return [(path, f"Invalid value: {value}: must be greater than or equal to 0")]
    return []


# -- Job ---------------------------------------------------------------------


def default_job_spec(spec: Any) -> None:
    """SetDefaults_Job's spec part (a CronJob's job template gets only the pod defaults)."""
    if not spec.HasField("completions") and not spec.HasField("parallelism"):
        spec.completions = 1
    if not spec.HasField("parallelism"):
        spec.parallelism = 1
    default_policies(spec)
    if not spec.HasField("backoff_limit"):
        spec.backoff_limit = 6
    if not spec.HasField("completion_mode"):
        spec.completion_mode = "NonIndexed"
    if not spec.HasField("suspend"):
        spec.suspend = False
    for rule in spec.pod_failure_policy.rules:
        for pattern in rule.on_pod_conditions:
            if not pattern.status:
                pattern.status = "True"
    defaults.default_pod_spec(spec.template.spec)


def default_job(job: Any) -> None:
    default_job_spec(job.spec)
    labels = job.spec.template.metadata.labels
    if labels and not job.metadata.labels:
        job.metadata.labels.update(labels)


def generate_selector(job: Any) -> None:
    """Kubernetes' generateSelector: the uid and name labels, and a selector
    on the uid, unless the user chose the selector (manualSelector)."""
    if job.spec.manual_selector:
        return
    labels = job.spec.template.metadata.labels
    for key in (LEGACY_JOB_NAME, JOB_NAME):
        labels.setdefault(key, job.metadata.name)
    for key in (LEGACY_CONTROLLER_UID, CONTROLLER_UID):
        labels.setdefault(key, job.metadata.uid)
    job.spec.selector.match_labels.setdefault(CONTROLLER_UID, job.metadata.uid)


def validate_job(job: Any) -> Causes:
    causes = validate_job_spec("spec", job.spec)
    causes += _generated_selector(job) + _job_status(job.status)
    return causes + validate_failed_indexes(job)


def _job_status(status: Any) -> Causes:
    """ValidateJobStatus: no count is negative (checked on every write, and
    only a status write can change the status)."""
    causes: Causes = []
    for field in ("active", "succeeded", "failed", "ready", "terminating"):
        causes += _negative(f"status.{field}", getattr(status, field))
    return causes


def _generated_selector(job: Any) -> Causes:
    """ValidateGeneratedSelector: a generated selector must name this job's uid."""
    if job.spec.manual_selector:
        return []
    uid = job.metadata.uid
    labels = job.spec.template.metadata.labels
    causes: Causes = []
    if labels.get(CONTROLLER_UID) != uid:
        causes.append(
            (
                f"spec.template.metadata.labels[{CONTROLLER_UID}]",
                f"Invalid value: \"{labels.get(CONTROLLER_UID, '')}\": must be '{uid}'",
            )
        )
    if job.spec.selector.match_labels.get(CONTROLLER_UID) != uid:
        causes.append(
            (
                "spec.selector",
                "Invalid value: `selector` not auto-generated",
            )
        )
    return causes


def validate_job_spec(path: str, spec: Any, *, template: bool = False) -> Causes:
    """ValidateJobSpec; ``template``: a CronJob's job template, whose selector
    is optional."""
    causes: Causes = []
    for field, name in (
        ("parallelism", "parallelism"),
        ("completions", "completions"),
        ("backoff_limit", "backoffLimit"),
        ("active_deadline_seconds", "activeDeadlineSeconds"),
        ("ttl_seconds_after_finished", "ttlSecondsAfterFinished"),
    ):
        if spec.HasField(field):
            causes += _negative(f"{path}.{name}", getattr(spec, field))
    mode = spec.completion_mode if spec.HasField("completion_mode") else "NonIndexed"
    if mode not in COMPLETION_MODES:
        causes.append((f"{path}.completionMode", _unsupported(mode, COMPLETION_MODES)))
    if mode == "Indexed":
        if not spec.HasField("completions"):
            causes.append(
                (f"{path}.completions", "Required value: when completion mode is Indexed")
            )
        elif spec.completions > MAX_INDEXED_COMPLETIONS:
            causes.append(
                (
                    f"{path}.completions",
                    f"Invalid value: {spec.completions}: must be less than or equal to "
                    f"{MAX_INDEXED_COMPLETIONS} when completion mode is Indexed",
                )
            )
    causes += _selector(path, spec, required=not template)
    pod = spec.template.spec
    causes += validate_pod_template(f"{path}.template", spec.template)
    if pod.restart_policy not in JOB_RESTART_POLICIES:
        causes.append(
            (
                f"{path}.template.spec.restartPolicy",
                _unsupported(pod.restart_policy, JOB_RESTART_POLICIES),
            )
        )
    if spec.HasField("pod_failure_policy"):
        causes += _pod_failure_policy(f"{path}.podFailurePolicy", spec)
    if spec.HasField("managed_by"):
        causes += validate_managed_by(f"{path}.managedBy", spec.managed_by)
    return causes + validate_policies(path, spec)


def _selector(path: str, spec: Any, *, required: bool) -> Causes:
    if not spec.HasField("selector"):
        return [(f"{path}.selector", "Required value")] if required else []
    try:
        selector = selectors.label_selector_from_proto(spec.selector)
    except selectors.SelectorError as err:
        return [(f"{path}.selector", str(err))]
    labels = dict(spec.template.metadata.labels)
    if not selector.is_empty() and not selector.matches(labels):
        return [
            (
                f"{path}.template.metadata.labels",
                f"Invalid value: {labels}: `selector` does not match template `labels`",
            )
        ]
    return []


def _pod_failure_policy(path: str, spec: Any) -> Causes:
    causes: Causes = []
    if spec.template.spec.restart_policy != "Never":
        causes.append(
            (
                "spec.template.spec.restartPolicy",
                "Invalid value: "
                f'"{spec.template.spec.restart_policy}": only "Never" is supported when '
                "podFailurePolicy is specified",
            )
        )
    for i, rule in enumerate(spec.pod_failure_policy.rules):
        at = f"{path}.rules[{i}]"
        if rule.action not in FAILURE_ACTIONS:
            causes.append((f"{at}.action", _unsupported(rule.action, FAILURE_ACTIONS)))
        elif rule.action == "FailIndex" and not spec.HasField("backoff_limit_per_index"):
            causes.append(
                (
                    f"{at}.action",
                    'Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
                )
            )
        has_codes, has_conditions = rule.HasField("on_exit_codes"), bool(rule.on_pod_conditions)
        if has_codes == has_conditions:
            causes.append(
                (at, "Invalid value: specifying one of OnExitCodes and OnPodConditions is required")
            )
        if has_codes:
            causes += _exit_codes(f"{at}.onExitCodes", rule.on_exit_codes)
        for j, pattern in enumerate(rule.on_pod_conditions):
            if pattern.status not in CONDITION_STATUSES:
                causes.append(
                    (
                        f"{at}.onPodConditions[{j}].status",
                        _unsupported(pattern.status, CONDITION_STATUSES),
                    )
                )
    return causes


def _exit_codes(path: str, req: Any) -> Causes:
    causes: Causes = []
    if req.operator not in EXIT_CODE_OPERATORS:
        causes.append((f"{path}.operator", _unsupported(req.operator, EXIT_CODE_OPERATORS)))
    values = list(req.values)
    if not values:
        causes.append((f"{path}.values", "Invalid value: []: at least one value is required"))
    if len(set(values)) != len(values):
        causes.append((f"{path}.values", "Duplicate value: exit codes must be unique"))
    if values != sorted(values):
        causes.append((f"{path}.values", "Invalid value: must be ordered"))
    if req.operator == "In" and 0 in values:
        causes.append((f"{path}.values", "Invalid value: 0: must not be 0 for the In operator"))
    return causes


_SCHEDULING_FIELDS = ("node_selector", "affinity", "tolerations", "scheduling_gates")


def validate_job_update(old: Any, new: Any) -> Causes:
    """ValidateJobUpdate: selector, completionMode, completions (unless an
    elastic Indexed job) and the template are fixed; a suspended job that
    never started may change its template's labels, annotations and
    scheduling directives, as Kubernetes allows."""
    causes: Causes = []
    if old.spec.selector != new.spec.selector:
        causes.append(("spec.selector", "Invalid value: field is immutable"))
    if old.spec.completion_mode != new.spec.completion_mode:
        causes.append(("spec.completionMode", "Invalid value: field is immutable"))
    if old.spec.completions != new.spec.completions and not (
        new.spec.completion_mode == "Indexed" and new.spec.completions == new.spec.parallelism
    ):
        causes.append(("spec.completions", "Invalid value: field is immutable"))
    if old.spec.template != new.spec.template and not _may_change_template(old, new):
        causes.append(("spec.template", "Invalid value: field is immutable"))
    if old.spec.managed_by != new.spec.managed_by:
        causes.append(("spec.managedBy", "Invalid value: field is immutable"))
    return causes + validate_policies_update(old, new)


def _may_change_template(old: Any, new: Any) -> bool:
    if not (old.spec.suspend and not old.status.HasField("start_time")):
        return False
    a, b = type(old.spec.template)(), type(new.spec.template)()
    a.CopyFrom(old.spec.template)
    b.CopyFrom(new.spec.template)
    for t in (a, b):
        t.metadata.ClearField("labels")
        t.metadata.ClearField("annotations")
        for field in _SCHEDULING_FIELDS:
            if field in t.spec.DESCRIPTOR.fields_by_name:
                t.spec.ClearField(field)
    return a == b


def _unsupported(value: str, allowed: tuple[str, ...]) -> str:
    options = ", ".join(f'"{a}"' for a in allowed)
    return f'Unsupported value: "{value}": supported values: {options}'


# -- CronJob -----------------------------------------------------------------


def default_cron_job(cj: Any) -> None:
    spec = cj.spec
    if not spec.concurrency_policy:
        spec.concurrency_policy = "Allow"
    if not spec.HasField("suspend"):
        spec.suspend = False
    if not spec.HasField("successful_jobs_history_limit"):
        spec.successful_jobs_history_limit = 3
    if not spec.HasField("failed_jobs_history_limit"):
        spec.failed_jobs_history_limit = 1
    defaults.default_pod_spec(spec.job_template.spec.template.spec)


def schedule_problem(schedule: str) -> str:
    """Why a cron schedule is refused ("" when it is fine): five fields or a
    descriptor, no TZ=/CRON_TZ= prefix (the timeZone field says that)."""
    text = schedule.strip()
    if not text:
        return "Required value"
    if re.match(r"^(CRON_)?TZ=", text):
        return (
            f'Invalid value: "{schedule}": cannot use TZ or CRON_TZ in schedule, '
            "use timeZone field instead"
        )
    if text.startswith("@"):
        if text.lower() in CRON_MACROS or every_seconds(text) is not None:
            return ""
        return f'Invalid value: "{schedule}": unrecognized descriptor: {text}'
    if len(text.split()) != 5:
        return f'Invalid value: "{schedule}": expected exactly 5 fields, found {len(text.split())}'
    if not croniter.is_valid(text):
        return f'Invalid value: "{schedule}": not a valid cron schedule'
    return ""


def time_zone_problem(name: str) -> str:
    if not name or name.startswith("/") or ".." in name:
        return f'Invalid value: "{name}": unknown time zone {name}'
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f'Invalid value: "{name}": unknown time zone {name}'
    return ""


def validate_cron_job(cj: Any) -> Causes:
    spec, causes = cj.spec, []
    if len(cj.metadata.name) > MAX_CRONJOB_NAME:
        causes.append(
            (
                "metadata.name",
                f'Invalid value: "{cj.metadata.name}": must be no more than '
                f"{MAX_CRONJOB_NAME} characters",
            )
        )
    problem = schedule_problem(spec.schedule)
    if problem:
        causes.append(("spec.schedule", problem))
    if spec.HasField("time_zone"):
        problem = time_zone_problem(spec.time_zone)
        if problem:
            causes.append(("spec.timeZone", problem))
    if spec.concurrency_policy not in CONCURRENCY_POLICIES:
        causes.append(
            (
                "spec.concurrencyPolicy",
                _unsupported(spec.concurrency_policy, CONCURRENCY_POLICIES),
            )
        )
    for field, name in (
        ("starting_deadline_seconds", "startingDeadlineSeconds"),
        ("successful_jobs_history_limit", "successfulJobsHistoryLimit"),
        ("failed_jobs_history_limit", "failedJobsHistoryLimit"),
    ):
        if spec.HasField(field):
            causes += _negative(f"spec.{name}", getattr(spec, field))
    return causes + validate_job_spec(
        "spec.jobTemplate.spec", spec.job_template.spec, template=True
    )
