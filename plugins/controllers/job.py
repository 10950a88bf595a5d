"""The Job controller (Kubernetes' ``pkg/controller/job``): run a job's pods
until enough succeed, at most ``parallelism`` at a time, and decide when the
job is complete or has failed.

One reconcile claims the job's pods and runs a JobSync (job_sync.py):
count, decide, delete and create pods (after the exponential back-off that
follows failures: 10 s doubling, capped at 6 minutes, configurable through
the control plane's ``job_backoff_base`` option), write status and
conditions. Finished jobs whose ``ttlSecondsAfterFinished`` ran out are
deleted.

Counting: as Kubernetes, every pod the controller makes holds the
``batch.kubernetes.io/job-tracking`` finalizer until its outcome is in the
job's status (job_tracking.py), so a finished pod deleted at once is still
counted, exactly once. Pods of a job being deleted, or whose job is gone,
lose the finalizer without being counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from shoal import clock as shoal_clock
from shoal import errors, hookimpl, selectors
from shoal.client import object_key
from shoal.controller import Controller
from shoal.plugins.controllers import job_tracking as jt
from shoal.plugins.controllers import job_util as ju
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers.expectations import Expectations
from shoal.plugins.controllers.job_sync import JobSync
from shoal.registry import Registry

log = structlog.get_logger("job")

SYNC_BATCH_PERIOD = 1.0
OWNER_UID, ORPHANS = podutil.OWNER_UID, podutil.ORPHANS


class JobController(Controller):
    name = "job"
    # Each sync waits on the API server (pods made in slow-start batches,
    # status written before and after the finalizers come off), and a
    # waiting worker costs a coroutine: with a thousand jobs at once, 16
    # workers left the jobs queued while the server had time to spare
    # (`bench jobs`: 154-159 Job pods/s with 16, 175 with 32, 189 with 64,
    # 174 with 128). Kubernetes' flag: --concurrent-job-syncs (default 5,
    # for syncs that wait far less); here the control plane option
    # ``concurrent_job_syncs``.
    workers = 64

    def __init__(
        self,
        client: Any,
        *,
        workers: int | None = None,
        options: dict[str, Any] | None = None,
        clock: Callable[[], float] = shoal_clock.time,
    ) -> None:
        options = options or {}
        if workers is None and "concurrent_job_syncs" in options:
            workers = _positive_int(options["concurrent_job_syncs"], "concurrent_job_syncs")
        super().__init__(client, workers=workers)
        self.backoff_base = float(options.get("job_backoff_base", ju.DEFAULT_BACKOFF))
        self.backoff_max = float(options.get("job_backoff_max", ju.MAX_BACKOFF))
        # Kubernetes' syncJobBatchPeriod: pod changes within it make one sync.
        self.batch_period = float(options.get("job_sync_batch_period", SYNC_BATCH_PERIOD))
        self._batched: set[str] = set()
        self.clock = clock
        self.jobs = self.informer("Job")
        self._registrations.append(
            self.jobs.add_handler(self.enqueue, self._job_updated, self._job_deleted)
        )
        self._primary = self.jobs
        self.pods = self.informer("Pod")
        podutil.index_by_controller(self.pods)
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.expectations = Expectations()
        self.releases = jt.Releases()

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
            if jt.has_tracking(pod) and not self._owner_alive(pod):
                self.queue.add(_orphan_key(pod))
            self._batch(key)

    def _pod_updated(self, old: Any, new: Any) -> None:
        if jt.has_tracking(old) and not jt.has_tracking(new):
            self.releases.observed(new)
            if _same_outcome(old, new):
                return  # our own finalizer removal: nothing to sync
        key = self._job_key(new)
        if key is None:
            return
        if new.metadata.HasField("deletion_timestamp") and not old.metadata.HasField(
            "deletion_timestamp"
        ):
            self.expectations.deletion_observed(key, object_key(new))
        if jt.has_tracking(new) and not self._owner_alive(new):
            self.queue.add(_orphan_key(new))
            return
        self._batch(key)

    def _pod_deleted(self, pod: Any) -> None:
        self.releases.observed(pod)
        key = self._job_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, object_key(pod))
            self._batch(key)

    def _job_updated(self, old: Any, new: Any) -> None:
        """A change of status alone is the controller's own write: it needs
        no second look (a write that conflicted is retried anyway)."""
        if old.status != new.status and _without_status(old) == _without_status(new):
            return
        self.enqueue(new)

    def _job_deleted(self, job: Any) -> None:
        """Its pods lose the finalizer (Kubernetes' cleanupPodFinalizers)."""
        self.enqueue(job)
        for pod in self.pods.by_index(OWNER_UID, job.metadata.uid):
            if jt.has_tracking(pod):
                self.queue.add(_orphan_key(pod))

    def _owner_alive(self, pod: Any) -> bool:
        """The job controlling ``pod`` exists and is not being deleted."""
        ref = podutil.controller_of(pod)
        job = self.jobs.get(ref.name, pod.metadata.namespace) if ref is not None else None
        return (
            job is not None
            and job.metadata.uid == ref.uid  # type: ignore[union-attr]
            and not job.metadata.HasField("deletion_timestamp")
        )

    # -- reconcile ----------------------------------------------------------------

    async def reconcile(self, key: Any) -> float | None:
        if isinstance(key, tuple):
            await self._release_orphan(*key[1:])
            return None
        namespace, name = podutil.split_key(key)
        job = self.jobs.get(name, namespace)
        if job is None:
            self.expectations.forget(key)
            return None
        if job.metadata.HasField("deletion_timestamp"):
            await self._release_all(job)
            return None
        now = self.clock()
        if ju.is_finished(job):
            await self._release_all(job)
            return await self._expire(job, now)  # as Kubernetes' TTL controller, any manager
        if not ju.managed_here(job):
            return None  # spec.managedBy names another controller: no pods, no status
        pods = await self._claim(job)
        return await JobSync(self, key, job, pods, now).run()

    async def _release_all(self, job: Any) -> None:
        """A finished or deleted job counts no more pods: every one of its
        pods still holding the finalizer loses it."""
        pods = [
            p for p in self.pods.by_index(OWNER_UID, job.metadata.uid) if self.releases.tracked(p)
        ]
        await asyncio.gather(*(self.releases.release(self.client, p) for p in pods))

    async def _release_orphan(self, namespace: str, name: str) -> None:
        pod = self.pods.get(name, namespace)
        if pod is not None and self.releases.tracked(pod) and not self._owner_alive(pod):
            await self.releases.release(self.client, pod)

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
                claimed.append(await jt.adopt(self.client, job, pod))
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

    async def create_pods(
        self,
        key: str,
        job: Any,
        indexes: list[int | None],
        replaced: dict[int, Any] | None = None,
    ) -> None:
        """Create pods (in slow-start batches); ``replaced``: the failed pod
        each index's new pod replaces (per-index failure counts)."""
        replaced = replaced or {}
        self.expectations.expect_creations(key, len(indexes))
        batch, pending = 1, list(indexes)
        while pending:
            now, pending = pending[:batch], pending[batch:]
            results = await asyncio.gather(
                *(
                    self._create_pod(job, i, replaced.get(i) if i is not None else None)
                    for i in now
                ),
                return_exceptions=True,
            )
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                for _ in range(len(failed) + len(pending)):
                    self.expectations.creation_observed(key)
                raise failed[0]
            batch *= 2

    async def _create_pod(self, job: Any, index: int | None, replaced: Any | None) -> None:
        try:
            created = await self.client.create(ju.new_pod(job, index, replaced))
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


def _without_status(job: Any) -> Any:
    bare = podutil.copy(job)
    bare.ClearField("status")
    bare.metadata.ClearField("resource_version")
    bare.metadata.ClearField("managed_fields")
    return bare


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return value


def _orphan_key(pod: Any) -> tuple[str, str, str]:
    return ("orphan", pod.metadata.namespace, pod.metadata.name)


def _same_outcome(old: Any, new: Any) -> bool:
    return old.status.phase == new.status.phase and old.metadata.HasField(
        "deletion_timestamp"
    ) == new.metadata.HasField("deletion_timestamp")


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("job", JobController)
