"""The pure parts of the batch kinds: schedules, indexes, back-off, the pod
failure policy, defaulting and the table columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from shoal.manifest import from_dict
from shoal.plugins.controllers import cronjob_schedule as sched
from shoal.plugins.controllers import job_util as ju
from shoal.plugins.kinds import batch_columns, batch_rules


def ts(*args: int, tz: Any = UTC) -> float:
    return datetime(*args, tzinfo=tz).timestamp()  # type: ignore[misc]


def test_most_recent_counts_missed_times_and_takes_the_last() -> None:
    due = sched.most_recent("*/5 * * * *", UTC, ts(2026, 1, 1, 0, 0), ts(2026, 1, 1, 0, 17))
    assert (due.scheduled, due.missed) == (ts(2026, 1, 1, 0, 15), 3)
    # Exactly on a schedule time counts it.
    due = sched.most_recent("*/5 * * * *", UTC, ts(2026, 1, 1, 0, 0), ts(2026, 1, 1, 0, 5))
    assert (due.scheduled, due.missed) == (ts(2026, 1, 1, 0, 5), 1)
    # Nothing since the earliest time.
    due = sched.most_recent("0 * * * *", UTC, ts(2026, 1, 1, 0, 1), ts(2026, 1, 1, 0, 59))
    assert due == sched.Due(None, 0)
    # A long downtime is counted only up to the warning threshold.
    due = sched.most_recent("* * * * *", UTC, ts(2026, 1, 1), ts(2026, 1, 2))
    assert due.scheduled == ts(2026, 1, 2) and due.missed == sched.MAX_MISSED + 1


def test_schedule_in_a_time_zone_and_macros() -> None:
    paris = ZoneInfo("Europe/Paris")
    after = ts(2026, 1, 1, 12, 0, tz=paris)
    assert sched.next_time("0 9 * * *", paris, after) == ts(2026, 1, 2, 9, 0, tz=paris)
    assert sched.next_time("@hourly", UTC, ts(2026, 1, 1, 0, 30)) == ts(2026, 1, 1, 1, 0)


def test_every_runs_each_delay_after_the_last_time() -> None:
    assert batch_rules.every_seconds("@every 1h30m") == 5400
    assert batch_rules.every_seconds("@every 1500ms") == 1  # truncated to seconds
    assert batch_rules.every_seconds("@every 0s") == 1  # at least a second
    assert batch_rules.every_seconds("*/5 * * * *") is None
    start = ts(2026, 1, 1, 0, 0, 7)
    due = sched.most_recent("@every 5m", UTC, start, start + 299)
    assert due == sched.Due(None, 0)
    due = sched.most_recent("@every 5m", UTC, start, start + 17 * 60)
    assert (due.scheduled, due.missed) == (start + 15 * 60, 3)
    assert sched.next_time("@every 5m", UTC, start + 17 * 60, start) == start + 20 * 60
    assert sched.next_time("@every 5m", UTC, start + 15 * 60, start) == start + 20 * 60


def test_job_name_is_the_scheduled_minute() -> None:
    cj = from_dict({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello"}})
    assert sched.job_name(cj, ts(2026, 1, 1, 0, 5)) == f"hello-{int(ts(2026, 1, 1, 0, 5)) // 60}"


@pytest.mark.parametrize(
    ("schedule", "ok"),
    [
        ("* * * * *", True),
        ("*/15 0-6 * * 1-5", True),
        ("@daily", True),
        # Kubernetes' cron library (robfig ParseStandard) takes @every <Go duration>
        ("@every 5m", True),
        ("@every 1h30m", True),
        ("@every 5", False),
        ("@every", False),
        ("@every 5 minutes", False),
        ("* * * *", False),
        ("* * * * * *", False),
        ("0 25 * * *", False),
        ("CRON_TZ=UTC 0 * * * *", False),
        ("", False),
    ],
)
def test_schedule_validation(schedule: str, ok: bool) -> None:
    assert (batch_rules.schedule_problem(schedule) == "") is ok


def test_time_zone_validation() -> None:
    assert batch_rules.time_zone_problem("America/New_York") == ""
    assert batch_rules.time_zone_problem("Etc/UTC") == ""
    for bad in ("Mars/Olympus", "../etc/passwd", "/etc/localtime", ""):
        assert "unknown time zone" in batch_rules.time_zone_problem(bad)


def test_indexes_round_trip() -> None:
    # As Kubernetes' orderedIntervals.String: two in a row are listed.
    assert ju.format_indexes([0, 1, 2, 5, 7, 8]) == "0-2,5,7,8"
    assert ju.format_indexes([3, 4]) == "3,4" and ju.format_indexes([4, 3, 3]) == "3,4"
    assert ju.parse_indexes("0-2,5,7-8", 8) == {0, 1, 2, 5, 7}
    assert ju.format_indexes([]) == "" and ju.parse_indexes("", 3) == set()


def test_backoff_doubles_from_10s_and_stops_at_6_minutes() -> None:
    assert [ju.backoff_delay(n) for n in range(7)] == [0, 10, 20, 40, 80, 160, 320]
    assert ju.backoff_delay(7) == ju.backoff_delay(30) == 360


def _job(**spec: Any) -> Any:
    pod = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
    return from_dict(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "j", "uid": "u1"},
            "spec": {"template": {"spec": pod}, **spec},
        }
    )


def test_defaults_follow_kubernetes() -> None:
    both_unset = _job()
    batch_rules.default_job(both_unset)
    assert (both_unset.spec.completions, both_unset.spec.parallelism) == (1, 1)
    work_queue = _job(parallelism=4)
    batch_rules.default_job(work_queue)
    assert not work_queue.spec.HasField("completions") and work_queue.spec.parallelism == 4
    only_completions = _job(completions=5)
    batch_rules.default_job(only_completions)
    assert (only_completions.spec.completions, only_completions.spec.parallelism) == (5, 1)


def test_generated_selector_and_manual_selector() -> None:
    job = _job()
    batch_rules.generate_selector(job)
    batch_rules.default_job(job)
    assert batch_rules.validate_job(job) == []
    assert dict(job.metadata.labels)["batch.kubernetes.io/job-name"] == "j"
    wrong = _job(selector={"matchLabels": {"batch.kubernetes.io/controller-uid": "other"}})
    batch_rules.generate_selector(wrong)
    batch_rules.default_job(wrong)
    assert "spec.selector" in [p for p, _ in batch_rules.validate_job(wrong)]
    manual = _job(manualSelector=True, selector={"matchLabels": {"app": "x"}})
    manual.spec.template.metadata.labels["app"] = "x"
    batch_rules.generate_selector(manual)
    batch_rules.default_job(manual)
    assert batch_rules.validate_job(manual) == []
    assert dict(manual.spec.selector.match_labels) == {"app": "x"}


def test_template_is_immutable_unless_suspended_and_never_started() -> None:
    old = _job(suspend=True)
    batch_rules.default_job(old)
    new = from_dict({"apiVersion": "batch/v1", "kind": "Job"})
    new.CopyFrom(old)
    new.spec.template.spec.node_selector["disk"] = "ssd"
    assert batch_rules.validate_job_update(old, new) == []
    new.spec.template.spec.containers[0].image = "other"
    assert [p for p, _ in batch_rules.validate_job_update(old, new)] == ["spec.template"]
    old.status.start_time.seconds = 1
    new.CopyFrom(old)
    new.spec.template.spec.node_selector["disk"] = "ssd"
    assert [p for p, _ in batch_rules.validate_job_update(old, new)] == ["spec.template"]


def _failed_pod(code: int, conditions: tuple[str, ...] = ()) -> Any:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default"},
            "status": {
                "phase": "Failed",
                "conditions": [{"type": c, "status": "True"} for c in conditions],
                "containerStatuses": [
                    {"name": "main", "state": {"terminated": {"exitCode": code}}}
                ],
            },
        }
    )


def test_pod_failure_policy_first_matching_rule_wins() -> None:
    job = _job(
        podFailurePolicy={
            "rules": [
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}},
                {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1]}},
            ]
        }
    )
    batch_rules.default_job(job)
    assert ju.match_failure_policy(job, _failed_pod(42)).action == "FailJob"
    assert ju.match_failure_policy(job, _failed_pod(42, ("DisruptionTarget",))).action == "Ignore"
    assert ju.match_failure_policy(job, _failed_pod(7)).action == "Count"
    assert ju.match_failure_policy(job, _failed_pod(1)).action == "Count"  # no rule: Count


def test_pod_failure_policy_validation() -> None:
    job = _job(
        podFailurePolicy={
            "rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [0, 3]}}]
        },
    )
    job.spec.template.spec.restart_policy = "OnFailure"
    paths = [p for p, _ in batch_rules.validate_job_spec("spec", job.spec, template=True)]
    assert "spec.podFailurePolicy.rules[0].onExitCodes.values" in paths
    assert "spec.template.spec.restartPolicy" in paths


def test_job_columns_as_kubectl() -> None:
    now = ts(2026, 1, 1, 0, 10)
    job = {
        "metadata": {"name": "pi", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"completions": 3},
        "status": {
            "succeeded": 3,
            "startTime": "2026-01-01T00:00:00Z",
            "completionTime": "2026-01-01T00:00:42Z",
            "conditions": [{"type": "Complete", "status": "True"}],
        },
    }
    assert batch_columns.JOB.cells(job, now) == ["Complete", "3/3", "42s", "10m"]
    running = {"metadata": {}, "spec": {"parallelism": 4}, "status": {}}
    assert batch_columns.JOB.cells(running, now)[:3] == ["Running", "0/1 of 4", ""]
    assert list(batch_columns.JOB.headers) == ["STATUS", "COMPLETIONS", "DURATION", "AGE"]


def test_cron_job_columns_as_kubectl() -> None:
    now = ts(2026, 1, 1, 0, 10)
    cj = {
        "metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"schedule": "*/1 * * * *", "suspend": False},
        "status": {"active": [{"name": "a"}], "lastScheduleTime": "2026-01-01T00:09:00Z"},
    }
    assert batch_columns.CRON_JOB.cells(cj, now) == [
        "*/1 * * * *",
        "<none>",
        "False",
        "1",
        "60s",
        "10m",
    ]


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def emit(self, obj: Any, kind: str, reason: str, message: str) -> None:
        self.events.append((reason, message))


class _StubController:
    """What one job sync uses of its controller: writes are recorded."""

    backoff_base, backoff_max = 10.0, 360.0

    def __init__(self) -> None:
        from shoal.plugins.controllers.expectations import Expectations

        self.recorder = _Recorder()
        self.expectations = Expectations()
        from shoal.plugins.controllers.job_tracking import Releases

        self.releases = Releases()
        self.batch_period = 1.0
        self.written: list[Any] = []
        self.updated: list[Any] = []
        self.client = self

    async def update_status(self, job: Any) -> Any:
        self.written.append(job)
        return job

    async def update(self, pod: Any) -> Any:
        self.updated.append(pod)
        return pod

    async def delete_pods(self, key: str, job: Any, pods: list[Any]) -> None:
        return None


async def test_an_outcome_once_decided_stands_while_pods_stop() -> None:
    """A job failed by its deadline whose killed pod then reads Failed stays
    DeadlineExceeded (not BackoffLimitExceeded), as Kubernetes' FailureTarget."""
    from shoal.plugins.controllers.job_sync import JobSync
    from shoal.plugins.controllers.job_tracking import TRACKING

    job = _job(backoffLimit=0, activeDeadlineSeconds=5)
    batch_rules.default_job(job)
    job.status.start_time.seconds = 1000
    ju.set_condition(job.status, ju.FAILURE_TARGET, "True", ju.DEADLINE_EXCEEDED, 1006)
    killed = _failed_pod(137)
    killed.metadata.uid = "killed-uid"
    killed.metadata.finalizers.append(TRACKING)
    ctl = _StubController()
    await JobSync(ctl, "default/j", job, [killed], 1007.0).run()  # type: ignore[arg-type]
    # First the pod's uid is recorded, then its finalizer goes, then it is counted.
    recorded, counted = ctl.written
    assert list(recorded.status.uncounted_terminated_pods.failed) == ["killed-uid"]
    assert ju.condition(recorded, ju.FAILED) is None
    [released] = ctl.updated
    assert TRACKING not in released.metadata.finalizers
    assert counted.status.failed == 1 and not counted.status.uncounted_terminated_pods.failed
    failed = ju.condition(counted, ju.FAILED)
    assert failed is not None and (failed.status, failed.reason) == ("True", "DeadlineExceeded")
