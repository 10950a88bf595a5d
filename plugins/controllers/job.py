"""The Job controller (Kubernetes' ``pkg/controller/job``): run a job's pods
until enough succeed, at most ``parallelism`` at a time, and decide when the
job is complete or has failed.

One reconcile claims the job's pods, counts them, decides (a FailJob rule
of the pod failure policy, the backoff limit, the active deadline, enough
completions, suspension), deletes pods a finished or suspended job no
longer needs, creates the missing ones (after the exponential back-off
that follows failures: 10 s doubling, capped at 6 minutes, configurable
through the control plane's ``job_backoff_base`` option), writes status and
conditions, and deletes finished jobs whose ``ttlSecondsAfterFinished`` ran
out.

Counting: Kubernetes keeps a finished pod until it is counted by putting
the ``batch.kubernetes.io/job-tracking`` finalizer on every pod. shoal
counts finished pods straight from the informer and never lets a counter go
down (``succeeded``, ``failed`` and ``completedIndexes`` only grow), so a
finished pod deleted by hand is not counted twice; a pod deleted before the
controller saw it finish is not counted at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import structlog
from shoal import errors, hookimpl, selectors
from shoal.client import object_key
from shoal.controller import Controller
from shoal.plugins.controllers import job_util as ju
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers.expectations import Expectations
from shoal.registry import Registry

log = structlog.get_logger("job")

BURST = 500
SYNC_BATCH_PERIOD = 1.0
# Pod informer indexes: the uid of a pod's controller; the namespace of a pod
# without one (a candidate for adoption).
OWNER_UID, ORPHANS = "controller-uid", "orphans"


def _owner_uid(pod: Any) -> list[str]:
    ref = podutil.controller_of(pod)
    return [ref.uid] if ref is not None else []


def _orphan_namespace(pod: Any) -> list[str]:
    return [] if podutil.controller_of(pod) is not None else [pod.metadata.namespace]


class JobController(Controller):
    name = "job"

    def __init__(
        self,
        client: Any,
        *,
        workers: int | None = None,
        options: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(client, workers=workers)
        options = options or {}
        self.backoff_base = float(options.get("job_backoff_base", ju.DEFAULT_BACKOFF))
        self.backoff_max = float(options.get("job_backoff_max", ju.MAX_BACKOFF))
        # Kubernetes' syncJobBatchPeriod: pod changes within it make one sync.
        self.batch_period = float(options.get("job_sync_batch_period", SYNC_BATCH_PERIOD))
        self._batched: set[str] = set()
        self.clock = clock
        self.jobs = self.watch("Job")
        self.pods = self.informer("Pod")
        self.pods.add_index(OWNER_UID, _owner_uid)
        self.pods.add_index(ORPHANS, _orphan_namespace)
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.expectations = Expectations()

    # -- pod events -> job keys -------------------------------------------------

    def _job_key(self, pod: Any) -> str | None:
        ref = podutil.controller_of(pod)
        if ref is None or ref.kind != "Job":
            return None
        return f"{pod.metadata.namespace}/{ref.name}"

    def _batch(self, key: str) -> None:
        """Sync ``key`` once the batch period has passed since the first of
        a burst of pod changes."""
        if key in self._batched:
            return
        self._batched.add(key)

        def due() -> None:
            self._batched.discard(key)
            self.queue.add(key)

        asyncio.get_running_loop().call_later(self.batch_period, due)

    def _pod_added(self, pod: Any) -> None:
        key = self._job_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self._batch(key)

    def _pod_updated(self, old: Any, new: Any) -> None:
        key = self._job_key(new)
        if key is not None:
            if new.metadata.HasField("deletion_timestamp") and not old.metadata.HasField(
                "deletion_timestamp"
            ):
                self.expectations.deletion_observed(key, object_key(new))
            self._batch(key)

    def _pod_deleted(self, pod: Any) -> None:
        key = self._job_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, object_key(pod))
            self._batch(key)

    # -- reconcile ----------------------------------------------------------------

    async def reconcile(self, key: Any) -> float | None:
        namespace, name = podutil.split_key(key)
        job = self.jobs.get(name, namespace)
        if job is None:
            self.expectations.forget(key)
            return None
        if job.metadata.HasField("deletion_timestamp"):
            return None
        now = self.clock()
        if ju.is_finished(job):
            return await self._expire(job, now)
        pods = await self._claim(job)
        return await _Sync(self, key, job, pods, now).run()

    async def _claim(self, job: Any) -> list[Any]:
        """The job's pods: owned ones matching its selector; orphans matching
        it are adopted, as Kubernetes' ControllerRefManager does."""
        selector = selectors.label_selector_from_proto(job.spec.selector)
        if selector.is_empty():
            return []
        claimed = [
            p
            for p in self.pods.by_index(OWNER_UID, job.metadata.uid)
            if selector.matches(p.metadata.labels)
        ]
        for pod in self.pods.by_index(ORPHANS, job.metadata.namespace):
            if selector.matches(pod.metadata.labels) and podutil.is_active(pod):
                log.info("adopting pod", job=job.metadata.name, pod=pod.metadata.name)
                claimed.append(await podutil.adopt(self.client, job, pod))
        return claimed

    async def _expire(self, job: Any, now: float) -> float | None:
        """ttlSecondsAfterFinished: delete the job (its pods go with it,
        through the garbage collector) once the time is up."""
        if not job.spec.HasField("ttl_seconds_after_finished"):
            return None
        finished = ju.finish_time(job)
        if finished is None:
            return None
        left = finished + job.spec.ttl_seconds_after_finished - now
        if left > 0:
            return left
        log.info("deleting finished job (TTL)", job=job.metadata.name)
        with contextlib.suppress(errors.NotFoundError, errors.PreconditionFailedError):
            await self.client.delete(
                "Job",
                job.metadata.name,
                job.metadata.namespace,
                uid=job.metadata.uid,
                propagation_policy="Foreground",
            )
        return None

    # -- pods ------------------------------------------------------------------------

    async def create_pods(self, key: str, job: Any, indexes: list[int | None]) -> None:
        self.expectations.expect_creations(key, len(indexes))
        batch, pending = 1, list(indexes)
        while pending:
            now, pending = pending[:batch], pending[batch:]
            results = await asyncio.gather(
                *(self._create_pod(job, i) for i in now), return_exceptions=True
            )
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                for _ in range(len(failed) + len(pending)):
                    self.expectations.creation_observed(key)
                raise failed[0]
            batch *= 2

    async def _create_pod(self, job: Any, index: int | None) -> None:
        try:
            created = await self.client.create(ju.new_pod(job, index))
        except errors.APIError as err:
            self.recorder.emit(job, "Warning", "FailedCreate", f"Error creating: {err}")
            raise
        self.recorder.emit(
            job, "Normal", "SuccessfulCreate", f"Created pod: {created.metadata.name}"
        )

    async def delete_pods(self, key: str, job: Any, pods: list[Any]) -> None:
        if not pods:
            return
        self.expectations.expect_deletions(key, {object_key(p) for p in pods})
        results = await asyncio.gather(
            *(podutil.delete_owned_pod(self, key, job, p) for p in pods), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]


class _Sync:
    """One reconcile of one unfinished job."""

    def __init__(self, ctl: JobController, key: str, job: Any, pods: list[Any], now: float):
        self.ctl, self.key, self.job, self.now = ctl, key, job, now
        self.spec = job.spec
        self.status = podutil.copy(job.status)
        self.indexed = self.spec.completion_mode == "Indexed"
        self.active = [p for p in pods if podutil.is_active(p)]
        self.terminating = [
            p
            for p in pods
            if p.metadata.HasField("deletion_timestamp")
            and p.status.phase not in ("Succeeded", "Failed")
        ]
        self.succeeded = [p for p in pods if p.status.phase == "Succeeded"]
        self.failed = [p for p in pods if p.status.phase == "Failed"]
        self.requeue: list[float] = []

    async def run(self) -> float | None:
        failure = self._count()
        decided = self._decided()
        if decided is not None:  # pods still stopping; the outcome stands
            kind, why = decided
            await self._finish(kind, why)
            await self._write()
            return None
        failure = failure or self._limits()
        if failure is not None:
            await self._finish(ju.FAILED, failure)
        elif self._complete():
            await self._finish(ju.COMPLETE, ju.COMPLETIONS_REACHED)
        elif self.spec.suspend:
            await self._suspend()
        else:
            await self._run_pods()
        await self._write()
        return min(self.requeue) if self.requeue else None

    # -- counting ------------------------------------------------------------------

    def _count(self) -> tuple[str, str] | None:
        """Counters (never going down) and the first FailJob match."""
        s, failure = self.status, None
        counted_failed = 0
        for pod in self.failed:
            match = ju.match_failure_policy(self.job, pod)
            if match.action == "FailJob" and failure is None:
                failure = ("PodFailurePolicy", match.message)
            if match.action != "Ignore":
                counted_failed += 1
        s.failed = max(s.failed, counted_failed)
        if self.indexed:
            done = ju.parse_indexes(s.completed_indexes, self.spec.completions)
            done |= {
                i
                for i in map(ju.pod_index, self.succeeded)
                if i is not None and i < self.spec.completions
            }
            s.completed_indexes = ju.format_indexes(done)
            s.succeeded = max(s.succeeded, len(done))
        else:
            s.succeeded = max(s.succeeded, len(self.succeeded))
        s.active = len(self.active)
        s.ready = sum(podutil.is_ready(p) for p in self.active)
        s.terminating = len(self.terminating)
        s.uncounted_terminated_pods.SetInParent()
        if not self.spec.suspend and not s.HasField("start_time"):
            s.start_time.CopyFrom(ju.stamp(self.now))
        return failure

    def _limits(self) -> tuple[str, str] | None:
        s, spec = self.status, self.spec
        if s.failed > spec.backoff_limit:
            return ju.BACKOFF_LIMIT_EXCEEDED
        if spec.template.spec.restart_policy == "OnFailure":
            # Kubernetes' pastBackoffLimitOnFailure: restarts of running pods.
            restarts = sum(
                c.restart_count
                for p in self.active
                for c in list(p.status.init_container_statuses) + list(p.status.container_statuses)
            )
            if restarts >= max(spec.backoff_limit, 1):
                return ju.BACKOFF_LIMIT_EXCEEDED
        if spec.HasField("active_deadline_seconds") and s.HasField("start_time"):
            left = s.start_time.seconds + spec.active_deadline_seconds - self.now
            if left <= 0:
                return ju.DEADLINE_EXCEEDED
            self.requeue.append(left)
        return None

    def _decided(self) -> tuple[str, tuple[str, str]] | None:
        """An outcome found earlier (FailureTarget / SuccessCriteriaMet): the
        pods stopped since must not change it."""
        for interim, kind in (
            (ju.FAILURE_TARGET, ju.FAILED),
            (ju.SUCCESS_CRITERIA_MET, ju.COMPLETE),
        ):
            c = ju.condition(self.job, interim)
            if c is not None and c.status == "True":
                return kind, (c.reason, c.message)
        return None

    def _complete(self) -> bool:
        if self.spec.HasField("completions"):
            return self.status.succeeded >= self.spec.completions
        return bool(self.succeeded) and not self.active

    # -- outcomes ------------------------------------------------------------------------

    async def _finish(self, kind: str, why: tuple[str, str]) -> None:
        """FailureTarget / SuccessCriteriaMet at once; Failed / Complete when
        no pod of the job still runs (as Kubernetes 1.31 does)."""
        interim = ju.FAILURE_TARGET if kind == ju.FAILED else ju.SUCCESS_CRITERIA_MET
        if ju.set_condition(self.status, interim, "True", why, self.now):
            reason = why[0] if kind == ju.FAILED else "Completed"
            kind_of_event = "Warning" if kind == ju.FAILED else "Normal"
            message = why[1] if kind == ju.FAILED else "Job completed"
            self.ctl.recorder.emit(self.job, kind_of_event, reason, message)
        await self.ctl.delete_pods(self.key, self.job, self.active)
        self.status.active = 0
        self.status.ready = 0
        if self.active or self.terminating:
            self.status.terminating = len(self.active) + len(self.terminating)
            return
        ju.set_condition(self.status, kind, "True", why, self.now)
        if kind == ju.COMPLETE:
            self.status.completion_time.CopyFrom(ju.stamp(self.now))
        if self.spec.HasField("ttl_seconds_after_finished"):
            self.requeue.append(float(self.spec.ttl_seconds_after_finished))

    async def _suspend(self) -> None:
        if ju.set_condition(self.status, ju.SUSPENDED, "True", ju.JOB_SUSPENDED, self.now):
            self.ctl.recorder.emit(self.job, "Normal", "Suspended", "Job suspended")
        await self.ctl.delete_pods(self.key, self.job, self.active)
        self.status.active = 0
        self.status.ready = 0
        self.status.ClearField("start_time")

    async def _run_pods(self) -> None:
        if ju.has_condition(self.job, ju.SUSPENDED):
            ju.set_condition(self.status, ju.SUSPENDED, "False", ju.JOB_RESUMED, self.now)
            self.ctl.recorder.emit(self.job, "Normal", "Resumed", "Job resumed")
        if not self.ctl.expectations.satisfied(self.key):
            return
        excess, missing = self._plan()
        if excess:
            await self.ctl.delete_pods(self.key, self.job, excess)
        if not missing:
            return
        wait = self._backoff_left()
        if wait > 0:
            self.requeue.append(wait)
            return
        await self.ctl.create_pods(self.key, self.job, missing[:BURST])

    def _plan(self) -> tuple[list[Any], list[int | None]]:
        """Pods to delete and indexes to create (None: a non-indexed pod)."""
        spec, s = self.spec, self.status
        if self.indexed:
            return self._plan_indexed()
        if spec.HasField("completions"):
            want = max(0, min(spec.parallelism, spec.completions - s.succeeded))
        else:
            want = len(self.active) if self.succeeded else spec.parallelism
        diff = len(self.active) - want
        if diff > 0:
            return podutil.pods_to_delete(self.active, diff), []
        return [], [None] * -diff

    def _plan_indexed(self) -> tuple[list[Any], list[int | None]]:
        spec = self.spec
        done = ju.parse_indexes(self.status.completed_indexes, spec.completions)
        running: dict[int, Any] = {}
        excess = []
        for pod in sorted(self.active, key=lambda p: p.metadata.creation_timestamp.seconds):
            i = ju.pod_index(pod)
            if i is None or i >= spec.completions or i in done or i in running:
                excess.append(pod)
            else:
                running[i] = pod
        want = max(0, min(spec.parallelism, spec.completions - len(done)))
        if len(running) > want:
            extra = sorted(running)[want - len(running) :]
            excess += [running.pop(i) for i in extra]
        pending = [i for i in range(spec.completions) if i not in done and i not in running]
        return excess, list(pending[: want - len(running)])

    def _backoff_left(self) -> float:
        """Seconds before a new pod may start after the failures since the
        last success (Kubernetes' exponential back-off)."""
        counted = [
            p for p in self.failed if ju.match_failure_policy(self.job, p).action != "Ignore"
        ]
        if not counted:
            return 0.0
        last_success = max((ju.finished_at(p) for p in self.succeeded), default=0.0)
        recent = [ju.finished_at(p) for p in counted if ju.finished_at(p) >= last_success]
        if not recent:
            return 0.0
        delay = ju.backoff_delay(len(recent), self.ctl.backoff_base, self.ctl.backoff_max)
        return max(0.0, max(recent) + delay - self.now)

    async def _write(self) -> None:
        if self.status == self.job.status:
            return
        updated = podutil.copy(self.job)
        updated.status.CopyFrom(self.status)
        try:
            await self.ctl.client.update_status(updated)
        except errors.NotFoundError:
            return


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("job", JobController)
