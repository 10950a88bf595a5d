"""The CronJob controller (Kubernetes' ``cronjob_controllerv2``): create a
Job from the template at each schedule time.

One reconcile brings ``status.active`` in line with the CronJob's jobs
(finished ones leave it, and a completed one sets ``lastSuccessfulTime``),
deletes finished jobs beyond the history limits, and then, unless
suspended, starts the job of the most recent missed schedule time: at most
one catch-up run after downtime (with a warning past 100 missed times),
none once ``startingDeadlineSeconds`` has passed, none while one runs under
``Forbid``, after deleting the running ones under ``Replace``. It then
looks again at the next schedule time.

The clock is injectable (``clock=``) so a test can run a schedule without
waiting for minutes to pass.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from shoal import clock as shoal_clock
from shoal import errors, hookimpl
from shoal.api.v1 import batch_pb2, meta_pb2
from shoal.controller import Controller
from shoal.plugins.controllers import cronjob_schedule as sched
from shoal.plugins.controllers import job_util as ju
from shoal.plugins.controllers import podutil
from shoal.registry import Registry

log = structlog.get_logger("cronjob")

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def _rfc3339(when: float) -> str:
    return datetime.fromtimestamp(int(when), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CronJobController(Controller):
    name = "cronjob"

    def __init__(
        self,
        client: Any,
        *,
        workers: int | None = None,
        clock: Callable[[], float] = shoal_clock.time,
    ) -> None:
        super().__init__(client, workers=workers)
        self.clock = clock
        self.cron_jobs = self.watch("CronJob")
        self.jobs = self.informer("Job")
        self.jobs.add_handler(
            self._job_changed, lambda old, new: self._job_changed(new), self._job_changed
        )

    def _job_changed(self, job: Any) -> None:
        ref = podutil.controller_of(job)
        if ref is not None and ref.kind == "CronJob":
            self.queue.add(f"{job.metadata.namespace}/{ref.name}")

    def owned_jobs(self, cj: Any) -> list[Any]:
        uid = cj.metadata.uid
        return [
            j
            for j in self.jobs.by_index("namespace", cj.metadata.namespace)
            if (ref := podutil.controller_of(j)) is not None and ref.uid == uid
        ]

    async def reconcile(self, key: Any) -> float | None:
        namespace, name = podutil.split_key(key)
        cj = self.cron_jobs.get(name, namespace)
        if cj is None or cj.metadata.HasField("deletion_timestamp"):
            return None
        now = self.clock()
        status = podutil.copy(cj.status)
        jobs = self.owned_jobs(cj)
        await self._sync_active(cj, status, jobs)
        await self._clean_history(cj, jobs)
        after = None
        if not cj.spec.suspend:
            after = await self._schedule(cj, status, now)
        if status != cj.status:
            updated = podutil.copy(cj)
            updated.status.CopyFrom(status)
            try:
                await self.client.update_status(updated)
            except errors.NotFoundError:
                return None
        return after

    # -- the active list and history ------------------------------------------------

    async def _sync_active(self, cj: Any, status: Any, jobs: list[Any]) -> None:
        by_uid = {j.metadata.uid: j for j in jobs}
        listed = {ref.uid for ref in status.active}
        unlisted = [j for j in jobs if not ju.is_finished(j) and j.metadata.uid not in listed]
        self._unlisted(cj, status, unlisted)
        for job in jobs:
            if job.metadata.uid not in listed and ju.is_finished(job):
                # finished outside the active list (`kubectl create job --from`): its
                # success still counts
                _note_success(status, job)
        keep = []
        for ref in status.active:
            job = by_uid.get(ref.uid)
            if job is None:
                if await self._exists(ref):
                    keep.append(ref)
                else:
                    self.recorder.emit(
                        cj, "Normal", "MissingJob", f"Active job went missing: {ref.name}"
                    )
                continue
            if ju.is_finished(job):
                kind = "Complete" if ju.has_condition(job, ju.COMPLETE) else "Failed"
                self.recorder.emit(
                    cj,
                    "Normal",
                    "SawCompletedJob",
                    f"Saw completed job: {job.metadata.name}, condition: {kind}",
                )
                _note_success(status, job)
                continue
            keep.append(ref)
        del status.active[:]
        status.active.extend(keep)

    def _unlisted(self, cj: Any, status: Any, jobs: list[Any]) -> None:
        """Unfinished jobs of the CronJob missing from its active list. One the
        controller made for a schedule time (annotated with it) is listed: the
        cache lagged our status write, or the write was lost. One made by
        someone else (``kubectl create job --from=cronjob/NAME``) stays out of
        ``active``, as in Kubernetes: ACTIVE does not count it, and Forbid and
        Replace leave it alone."""
        for job in jobs:
            if SCHEDULED_TIMESTAMP in job.metadata.annotations:
                status.active.append(_reference(job))
                continue
            self.recorder.emit(
                cj,
                "Warning",
                "UnexpectedJob",
                f"Saw a job that the controller did not create or forgot: {job.metadata.name}",
            )

    async def _exists(self, ref: Any) -> bool:
        try:
            job = await self.client.get("Job", ref.name, ref.namespace)
        except errors.NotFoundError:
            return False
        return bool(job.metadata.uid == ref.uid)

    async def _clean_history(self, cj: Any, jobs: list[Any]) -> None:
        for kind, limit_field in (
            (ju.COMPLETE, "successful_jobs_history_limit"),
            (ju.FAILED, "failed_jobs_history_limit"),
        ):
            if not cj.spec.HasField(limit_field):
                continue
            done = [
                j
                for j in jobs
                if ju.has_condition(j, kind) and not j.metadata.HasField("deletion_timestamp")
            ]
            done.sort(key=_started)
            extra = len(done) - getattr(cj.spec, limit_field)
            for job in done[: max(extra, 0)]:
                await self._delete_job(cj, job)

    async def _delete_job(self, cj: Any, job: Any) -> None:
        try:
            await self.client.delete(
                "Job",
                job.metadata.name,
                job.metadata.namespace,
                uid=job.metadata.uid,
                propagation_policy="Background",
            )
        except (errors.NotFoundError, errors.PreconditionFailedError):
            return
        self.recorder.emit(cj, "Normal", "SuccessfulDelete", f"Deleted job {job.metadata.name}")

    # -- scheduling ------------------------------------------------------------------------

    async def _schedule(self, cj: Any, status: Any, now: float) -> float | None:
        try:
            zone = sched.zone_of(cj)
            earliest = sched.earliest_time(cj, now)
            due = sched.most_recent(cj.spec.schedule, zone, earliest, now)
            upcoming = sched.next_time(cj.spec.schedule, zone, now, earliest) - now + 0.1
        except (ValueError, KeyError) as err:
            self.recorder.emit(cj, "Warning", "UnparseableSchedule", f"unparseable schedule: {err}")
            return None
        if due.missed > sched.MAX_MISSED:
            self.recorder.emit(
                cj,
                "Warning",
                "TooManyMissedTimes",
                f"too many missed start times: {due.missed}. Set or decrease "
                ".spec.startingDeadlineSeconds or check clock skew",
            )
        if due.scheduled is None:
            return upcoming
        scheduled = due.scheduled
        deadline = cj.spec.starting_deadline_seconds
        if cj.spec.HasField("starting_deadline_seconds") and scheduled + deadline < now:
            self.recorder.emit(
                cj,
                "Warning",
                "MissSchedule",
                f"Missed scheduled time to start a job: {_rfc3339(scheduled)}",
            )
            return upcoming
        name = sched.job_name(cj, scheduled)
        if any(ref.name == name for ref in status.active):
            return upcoming
        if status.active and cj.spec.concurrency_policy == "Forbid":
            self.recorder.emit(
                cj,
                "Normal",
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency "
                "policy is Forbid",
            )
            return upcoming
        if status.active and cj.spec.concurrency_policy == "Replace":
            for ref in list(status.active):
                job = self.jobs.get(ref.name, ref.namespace)
                if job is not None:
                    await self._delete_job(cj, job)
            del status.active[:]
        job = await self._create_job(cj, name, scheduled)
        if job is not None:
            status.active.append(_reference(job))
        status.last_schedule_time.CopyFrom(ju.stamp(scheduled))
        return upcoming

    async def _create_job(self, cj: Any, name: str, scheduled: float) -> Any | None:
        template = cj.spec.job_template
        job = batch_pb2.Job(spec=template.spec)
        m = job.metadata
        m.name, m.namespace = name, cj.metadata.namespace
        m.labels.update(template.metadata.labels)
        m.annotations.update(template.metadata.annotations)
        m.annotations[SCHEDULED_TIMESTAMP] = _rfc3339(scheduled)
        m.owner_references.append(podutil.controller_ref(cj))
        try:
            created = await self.client.create(job)
        except errors.AlreadyExistsError:
            return None  # made by an earlier pass; the job informer brings it
        except errors.APIError as err:
            self.recorder.emit(cj, "Warning", "FailedCreate", f"Error creating job: {err}")
            raise
        self.recorder.emit(cj, "Normal", "SuccessfulCreate", f"Created job {name}")
        return created


def _reference(job: Any) -> meta_pb2.ObjectReference:
    return meta_pb2.ObjectReference(
        kind="Job",
        namespace=job.metadata.namespace,
        name=job.metadata.name,
        uid=job.metadata.uid,
        api_version="batch/v1",
        resource_version=job.metadata.resource_version,
    )


def _started(job: Any) -> tuple[int, str]:
    """Kubernetes' byJobStartTime: start (else creation) time, then name."""
    if job.status.HasField("start_time"):
        return (job.status.start_time.seconds, job.metadata.name)
    return (job.metadata.creation_timestamp.seconds, job.metadata.name)


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("cronjob", CronJobController)


def _note_success(status: Any, job: Any) -> None:
    """A completed job's completion time becomes ``lastSuccessfulTime`` when later."""
    if not ju.has_condition(job, ju.COMPLETE) or not job.status.HasField("completion_time"):
        return
    done = job.status.completion_time
    last = status.last_successful_time
    if not status.HasField("last_successful_time") or last.seconds < done.seconds:
        last.CopyFrom(done)
