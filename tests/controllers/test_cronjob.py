"""The CronJob controller against a real API server, on an injected clock:
schedules run in milliseconds instead of minutes. No job controller runs;
the test finishes jobs itself, as one would."""

from __future__ import annotations

import time
from typing import Any

from shoal.client import Client
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers.cronjob import SCHEDULED_TIMESTAMP, CronJobController

from tests.controllers.helpers import running
from tests.integration.helpers import eventually, obj, update_latest


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def cron_job(name: str, schedule: str = "* * * * *", **spec: Any) -> Any:
    return obj(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": name},
            "spec": {
                "schedule": schedule,
                **spec,
                "jobTemplate": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "OnFailure",
                                "containers": [{"name": "c", "image": "busybox"}],
                            }
                        }
                    },
                },
            },
        }
    )


async def jobs(client: Client) -> list[Any]:
    return sorted((await client.list("Job", "default")).items, key=lambda j: j.metadata.name)


async def job_count(client: Client, n: int) -> list[Any] | None:
    found = await jobs(client)
    return found if len(found) == n else None


async def tick(ctl: CronJobController, clock: Clock, cj: Any, seconds: float) -> None:
    clock.now += seconds
    ctl.enqueue(cj)


async def finish(client: Client, job: Any, kind: str = "Complete") -> None:
    job = await client.get("Job", job.metadata.name, "default")
    job.status.conditions.add(type=kind, status="True").last_transition_time.GetCurrentTime()
    if kind == "Complete":
        job.status.completion_time.GetCurrentTime()
    await client.update_status(job)


async def events(client: Client, reason: str) -> list[Any]:
    return [e for e in (await client.list("Event", "default")).items if e.reason == reason]


async def test_fires_on_schedule_and_tracks_active_and_success(shoal_client: Client) -> None:
    clock = Clock()
    ctl = CronJobController(shoal_client, clock=clock)
    async with running(ctl):
        cj = await shoal_client.create(cron_job("hello"))
        await tick(ctl, clock, cj, 61)
        [job] = await eventually(lambda: job_count(shoal_client, 1))
        scheduled = (int(clock.now) // 60) * 60
        assert job.metadata.name == f"hello-{scheduled // 60}"
        assert job.metadata.labels["app"] == "hello"
        assert job.metadata.annotations[SCHEDULED_TIMESTAMP].endswith(":00Z")
        [ref] = job.metadata.owner_references
        assert (ref.kind, ref.uid, ref.controller) == ("CronJob", cj.metadata.uid, True)

        async def active_is(names: list[str]) -> Any:
            got = await shoal_client.get("CronJob", "hello", "default")
            return got if [a.name for a in got.status.active] == names else None

        status = (await eventually(lambda: active_is([job.metadata.name]))).status
        assert status.last_schedule_time.seconds == scheduled
        await finish(shoal_client, job)
        done = await eventually(lambda: active_is([]))
        assert done.status.HasField("last_successful_time")


async def test_forbid_skips_and_replace_replaces(shoal_client: Client) -> None:
    clock = Clock()
    ctl = CronJobController(shoal_client, clock=clock)
    async with running(ctl):
        cj = await shoal_client.create(cron_job("solo", concurrencyPolicy="Forbid"))
        await tick(ctl, clock, cj, 61)
        [first] = await eventually(lambda: job_count(shoal_client, 1))
        await tick(ctl, clock, cj, 60)
        await eventually(lambda: events(shoal_client, "JobAlreadyActive"))
        assert [j.metadata.name for j in await jobs(shoal_client)] == [first.metadata.name]
        cj = await update_latest(
            shoal_client,
            "CronJob",
            "solo",
            "default",
            lambda c: setattr(c.spec, "concurrency_policy", "Replace"),
        )
        await tick(ctl, clock, cj, 60)

        async def replaced() -> Any:
            names = [j.metadata.name for j in await jobs(shoal_client)]
            return len(names) == 1 and names != [first.metadata.name]

        await eventually(replaced)


def manual_job(cj: Any, name: str, **annotations: str) -> Any:
    """What ``kubectl create job NAME --from=cronjob/CJ`` makes: the template,
    the CronJob as controller, no scheduled-time annotation of the controller's."""
    job = obj(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "busybox"}]}}},
        }
    )  # fmt: skip
    job.metadata.owner_references.append(podutil.controller_ref(cj))
    return job


async def test_a_manual_job_is_not_active_and_replace_leaves_it(shoal_client: Client) -> None:
    clock = Clock()
    ctl = CronJobController(shoal_client, clock=clock)
    async with running(ctl):
        cj = await shoal_client.create(cron_job("nightly", concurrencyPolicy="Replace"))
        manual = await shoal_client.create(
            manual_job(cj, "by-hand", **{"cronjob.kubernetes.io/instantiate": "manual"})
        )
        ctl.enqueue(cj)
        await eventually(lambda: events(shoal_client, "UnexpectedJob"))
        [warned] = await events(shoal_client, "UnexpectedJob")
        assert warned.type == "Warning"
        assert warned.message == "Saw a job that the controller did not create or forgot: by-hand"
        got = await shoal_client.get("CronJob", "nightly", "default")
        assert list(got.status.active) == []  # kubectl get cj: ACTIVE 0
        await tick(ctl, clock, cj, 61)
        both = await eventually(lambda: job_count(shoal_client, 2))
        assert "by-hand" in [j.metadata.name for j in both]  # Replace did not delete it

        async def listed() -> Any:
            got = await shoal_client.get("CronJob", "nightly", "default")
            return got if [a.name for a in got.status.active] != [] else None

        got = await eventually(listed)
        assert "by-hand" not in [a.name for a in got.status.active]
        await finish(shoal_client, manual)

        async def succeeded() -> Any:
            got = await shoal_client.get("CronJob", "nightly", "default")
            return got if got.status.HasField("last_successful_time") else None

        await eventually(succeeded)
        assert not [e for e in await events(shoal_client, "SawCompletedJob")
                    if "by-hand" in e.message]  # fmt: skip


async def test_a_scheduled_job_missing_from_active_is_listed(shoal_client: Client) -> None:
    # The status write after a create can be lost; the job names its schedule time.
    clock = Clock()
    ctl = CronJobController(shoal_client, clock=clock)
    async with running(ctl):
        cj = await shoal_client.create(cron_job("lost", suspend=True))
        await shoal_client.create(
            manual_job(cj, "lost-1", **{SCHEDULED_TIMESTAMP: "2026-01-01T00:00:00Z"})
        )
        ctl.enqueue(cj)

        async def listed() -> Any:
            got = await shoal_client.get("CronJob", "lost", "default")
            return got if [a.name for a in got.status.active] == ["lost-1"] else None

        await eventually(listed)
        assert not await events(shoal_client, "UnexpectedJob")


async def test_an_every_schedule_runs_each_delay_after_creation(shoal_client: Client) -> None:
    clock = Clock()
    ctl = CronJobController(shoal_client, clock=clock)
    async with running(ctl):
        cj = await shoal_client.create(cron_job("often", schedule="@every 90s"))
        created = cj.metadata.creation_timestamp.seconds
        clock.now = created + 89
        ctl.enqueue(cj)
        await tick(ctl, clock, cj, 2)  # creation + 91s: the first time has passed
        [job] = await eventually(lambda: job_count(shoal_client, 1))
        assert job.metadata.name == f"often-{(created + 90) // 60}"


async def test_one_catch_up_run_after_downtime_with_a_warning(shoal_client: Client) -> None:
    clock = Clock()
    ctl = CronJobController(shoal_client, clock=clock)
    async with running(ctl):
        cj = await shoal_client.create(cron_job("late"))
        await tick(ctl, clock, cj, 3 * 3600)
        [job] = await eventually(lambda: job_count(shoal_client, 1))
        assert job.metadata.name == f"late-{int(clock.now) // 60}"
        [warning] = await eventually(lambda: events(shoal_client, "TooManyMissedTimes"))
        assert "too many missed start times" in warning.message


async def test_starting_deadline_and_suspend_start_nothing(shoal_client: Client) -> None:
    clock = Clock()
    ctl = CronJobController(shoal_client, clock=clock)
    async with running(ctl):
        # Due at the next minute; looked at 30 s after it with a 10 s deadline.
        start = clock.now
        cj = await shoal_client.create(cron_job("strict", startingDeadlineSeconds=10))
        clock.now = (int(start) // 60 + 1) * 60 + 30
        ctl.enqueue(cj)
        paused = await shoal_client.create(cron_job("paused", suspend=True))
        await tick(ctl, clock, paused, 120)
        # A third CronJob, due now, proves the controller has looked since.
        probe = await shoal_client.create(cron_job("probe"))
        await tick(ctl, clock, probe, 120)
        [job] = await eventually(lambda: job_count(shoal_client, 1))
        assert job.metadata.name.startswith("probe-")


async def test_history_limits_delete_the_oldest_finished_jobs(shoal_client: Client) -> None:
    clock = Clock()
    ctl = CronJobController(shoal_client, clock=clock)
    async with running(ctl):
        cj = await shoal_client.create(
            cron_job("hist", successfulJobsHistoryLimit=1, failedJobsHistoryLimit=0)
        )
        names = []
        for i in range(3):
            await tick(ctl, clock, cj, 60 if i else 61)
            found = await eventually(lambda: _new_job(shoal_client, names))
            names.append(found.metadata.name)
            await finish(shoal_client, found, "Complete" if i < 2 else "Failed")
        ctl.enqueue(cj)

        async def kept() -> bool:
            return [j.metadata.name for j in await jobs(shoal_client)] == [names[1]]

        await eventually(kept)


async def _new_job(client: Client, known: list[str]) -> Any:
    fresh = [j for j in await jobs(client) if j.metadata.name not in known]
    return fresh[0] if fresh else None
