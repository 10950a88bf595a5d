"""A Job's per-index back-off, success policy and pod replacement policy:
their defaults and validation, after Kubernetes' ``pkg/apis/batch``
(``SetDefaults_Job``, ``ValidateJobSpec``, ``validateSuccessPolicy``,
``validateIndexesFormat``)."""

from __future__ import annotations

from typing import Any

from shoal.strategy import Causes

INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
REPLACEMENT_POLICIES = ("Failed", "TerminatingOrFailed")
MAX_INT32 = 2**31 - 1
# Kubernetes' bound; an Indexed job's completions are bounded by the same
# number here (batch_rules), so its rules for more completions never apply.
MAX_FAILED_INDEXES = 100_000
MAX_SUCCESS_RULES = 20
MAX_SUCCEEDED_INDEXES_LENGTH = 65_536


def default_policies(spec: Any) -> None:
    """backoffLimit is unbounded with a per-index limit; the replacement
    policy is Failed with a pod failure policy, else TerminatingOrFailed."""
    if not spec.HasField("backoff_limit") and spec.HasField("backoff_limit_per_index"):
        spec.backoff_limit = MAX_INT32
    if not spec.HasField("pod_replacement_policy"):
        failure_policy = spec.HasField("pod_failure_policy")
        spec.pod_replacement_policy = "Failed" if failure_policy else "TerminatingOrFailed"


def only_replace_failed(spec: Any) -> bool:
    """Kubernetes' onlyReplaceFailedPods: a pod being deleted is neither a
    failure nor replaced until it has failed."""
    return spec.pod_replacement_policy == "Failed" or spec.HasField("pod_failure_policy")


def validate_policies(path: str, spec: Any) -> Causes:
    causes: Causes = []
    indexed = spec.completion_mode == "Indexed"
    for field, name in (
        ("backoff_limit_per_index", "backoffLimitPerIndex"),
        ("max_failed_indexes", "maxFailedIndexes"),
    ):
        if not spec.HasField(field):
            continue
        value = getattr(spec, field)
        if value < 0:
            causes.append(
                (f"{path}.{name}", f"Invalid value: {value}: must be greater than or equal to 0")
            )
        if not indexed:
            causes.append(
                (f"{path}.{name}", f"Invalid value: {value}: requires indexed completion mode")
            )
    if spec.HasField("max_failed_indexes") and not spec.HasField("backoff_limit_per_index"):
        causes.append(
            (f"{path}.backoffLimitPerIndex", "Required value: when maxFailedIndexes is specified")
        )
    if indexed and spec.HasField("completions"):
        causes += _index_limits(path, spec)
    if spec.HasField("success_policy"):
        if not indexed:
            causes.append(
                (f"{path}.successPolicy", "Invalid value: requires indexed completion mode")
            )
        elif spec.HasField("completions"):
            causes += _success_policy(f"{path}.successPolicy", spec)
    if spec.HasField("pod_replacement_policy"):
        causes += _replacement_policy(f"{path}.podReplacementPolicy", spec)
    return causes


def _index_limits(path: str, spec: Any) -> Causes:
    causes: Causes = []
    completions = spec.completions
    failed = spec.max_failed_indexes if spec.HasField("max_failed_indexes") else None
    at = f"{path}.maxFailedIndexes"
    if failed is not None and failed > completions:
        causes.append((at, f"Invalid value: {failed}: must be less than or equal to completions"))
    if failed is not None and failed > MAX_FAILED_INDEXES:
        causes.append(
            (at, f"Invalid value: {failed}: must be less than or equal to {MAX_FAILED_INDEXES}")
        )
    return causes


def _success_policy(path: str, spec: Any) -> Causes:
    rules = spec.success_policy.rules
    at = f"{path}.rules"
    causes: Causes = []
    if not rules:
        causes.append(
            (at, "Required value: at least one rules must be specified when the successPolicy "
                 "is specified")
        )  # fmt: skip
    if len(rules) > MAX_SUCCESS_RULES:
        causes.append((at, f"Too many: {len(rules)}: must have at most {MAX_SUCCESS_RULES} items"))
    for i, rule in enumerate(rules):
        causes += _success_rule(f"{at}[{i}]", rule, spec.completions)
    return causes


def _success_rule(at: str, rule: Any, completions: int) -> Causes:
    causes: Causes = []
    has_indexes, has_count = rule.HasField("succeeded_indexes"), rule.HasField("succeeded_count")
    if not has_indexes and not has_count:
        causes.append(
            (at, "Required value: at least one of succeededCount or succeededIndexes "
                 "must be specified")
        )  # fmt: skip
    total = 0
    if has_indexes:
        text = rule.succeeded_indexes
        if len(text) > MAX_SUCCEEDED_INDEXES_LENGTH:
            causes.append(
                (
                    f"{at}.succeededIndexes",
                    f"Too long: may not be more than {MAX_SUCCEEDED_INDEXES_LENGTH} bytes",
                )
            )
        try:
            total = count_indexes(text, completions)
        except ValueError as err:
            causes.append(
                (
                    f"{at}.succeededIndexes",
                    f'Invalid value: "{text}": error parsing succeededIndexes: {err}',
                )
            )
    if has_count:
        count, where = rule.succeeded_count, f"{at}.succeededCount"
        if count < 0:
            causes.append((where, f"Invalid value: {count}: must be greater than or equal to 0"))
        if count > completions:
            causes.append(
                (where, f"Invalid value: {count}: must be less than or equal to {completions} "
                        "(the number of specified completions)")
            )  # fmt: skip
        if has_indexes and count > total:
            causes.append(
                (where, f"Invalid value: {count}: must be less than or equal to {total} "
                        "(the number of indexes in the specified succeededIndexes field)")
            )  # fmt: skip
    return causes


def _replacement_policy(at: str, spec: Any) -> Causes:
    value = spec.pod_replacement_policy
    allowed = ("Failed",) if spec.HasField("pod_failure_policy") else REPLACEMENT_POLICIES
    if value in allowed:
        return []
    options = ", ".join(f'"{a}"' for a in allowed)
    return [(at, f'Unsupported value: "{value}": supported values: {options}')]


def count_indexes(text: str, completions: int) -> int:
    """Kubernetes' validateIndexesFormat: how many indexes "1,3-5,7" names;
    ValueError (with Kubernetes' words) for a malformed, unordered or out of
    range list."""
    if not text:
        return 0
    total, last = 0, None
    for part in text.split(","):
        first, final = _interval(part, completions)
        if last is not None and last >= first:
            raise ValueError(f"non-increasing order, previous: {last}, current: {first}")
        total += final - first + 1
        last = final
    return total


def _interval(part: str, completions: int) -> tuple[int, int]:
    limits = part.split("-")
    if len(limits) > 2:
        raise ValueError(
            f'the fragment "{part}" violates the requirement that an index interval '
            "can have at most two parts separated by '-'"
        )
    first = _index(limits[0], completions)
    if len(limits) == 1:
        return first, first
    last = _index(limits[1], completions)
    if first >= last:
        raise ValueError(f"non-increasing order, previous: {first}, current: {last}")
    return first, last


def _index(word: str, completions: int) -> int:
    if not (word.isascii() and word.isdigit()):
        raise ValueError(f'cannot convert string to integer for index: "{word}"')
    value = int(word)
    if value >= completions:
        raise ValueError(f'too large index: "{word}"')
    return value


def validate_policies_update(old: Any, new: Any) -> Causes:
    causes: Causes = []
    for field, name in (
        ("backoff_limit_per_index", "backoffLimitPerIndex"),
        ("success_policy", "successPolicy"),
        ("pod_failure_policy", "podFailurePolicy"),
    ):
        if old.spec.HasField(field) != new.spec.HasField(field) or getattr(
            old.spec, field
        ) != getattr(new.spec, field):
            causes.append((f"spec.{name}", "Invalid value: field is immutable"))
    return causes


def validate_failed_indexes(job: Any) -> Causes:
    """status.failedIndexes: only with backoffLimitPerIndex, well formed."""
    status, spec = job.status, job.spec
    if not status.HasField("failed_indexes"):
        return []
    text = status.failed_indexes
    if not spec.HasField("backoff_limit_per_index"):
        return [
            (
                "status.failedIndexes",
                f'Invalid value: "{text}": cannot set non-null failedIndexes when '
                "backoffLimitPerIndex is null",
            )
        ]
    try:
        count_indexes(text, spec.completions)
    except ValueError as err:
        return [
            ("status.failedIndexes", f'Invalid value: "{text}": error parsing failedIndexes: {err}')
        ]
    return []
