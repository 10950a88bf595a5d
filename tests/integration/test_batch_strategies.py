"""The strategy contract (``shoal.testing.StrategyContract``) over the
batch/v1 kinds. A contract sample is validated without the API server's
create path, which generates a Job's selector, so the Job samples choose
theirs (manualSelector)."""

from __future__ import annotations

from shoal.testing import StrategyContract

from tests.integration.test_kind_strategies import obj, with_spec

POD = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "shoal.local/busybox"}]}
SPEC = {
    "manualSelector": True,
    "selector": {"matchLabels": {"app": "batch"}},
    "template": {"metadata": {"labels": {"app": "batch"}}, "spec": POD},
}
JOB = obj("batch/v1", "Job", "pi", spec=SPEC)
TEMPLATE = {"spec": {"template": {"spec": {**POD, "restartPolicy": "OnFailure"}}}}
CRON = obj("batch/v1", "CronJob", "hello", spec={"schedule": "* * * * *", "jobTemplate": TEMPLATE})


class TestJob(StrategyContract):
    kind = "Job"
    valid = [JOB, with_spec(JOB, completions=3, parallelism=2, completionMode="Indexed")]
    invalid = [
        (with_spec(JOB, completions=-1), "spec.completions"),
        (with_spec(JOB, template={**SPEC["template"], "spec": {**POD, "restartPolicy": "Always"}}),
         "spec.template.spec.restartPolicy"),
    ]  # fmt: skip
    immutable = [
        (JOB, {"spec": {"selector": {"matchLabels": {"app": "x"}}}}, "spec.selector"),
        (JOB, {"spec": {"completionMode": "Indexed", "completions": 4}}, "spec.completionMode"),
    ]


class TestCronJob(StrategyContract):
    kind = "CronJob"
    valid = [CRON, with_spec(CRON, schedule="@hourly", timeZone="Europe/Paris")]
    invalid = [
        (with_spec(CRON, schedule="61 * * * *"), "spec.schedule"),
        (with_spec(CRON, timeZone="Nowhere/Land"), "spec.timeZone"),
        (with_spec(CRON, concurrencyPolicy="Sometimes"), "spec.concurrencyPolicy"),
    ]
