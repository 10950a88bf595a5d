"""One reconcile of one unfinished job (Kubernetes' ``syncJob``): count the
pods (through the tracking finalizer, see job_tracking), decide (a FailJob
rule of the pod failure policy, the backoff limit, the active deadline,
enough completions, suspension), delete the pods a finished or suspended job
no longer needs, create the missing ones, write status and conditions."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from shoal import errors
from shoal.plugins.controllers import job_indexes as jx
from shoal.plugins.controllers import job_util as ju
from shoal.plugins.controllers import podutil
from shoal.plugins.kinds.batch_policies import only_replace_failed

if TYPE_CHECKING:
    from shoal.plugins.controllers.job import JobController

BURST = 500


class JobSync:
    def __init__(self, ctl: JobController, key: str, job: Any, pods: list[Any], now: float):
        self.ctl, self.key, self.job, self.now = ctl, key, job, now
        self.pods = pods
        self.spec = job.spec
        self.status = podutil.copy(job.status)
        self.indexed = self.spec.completion_mode == "Indexed"
        self.per_index = self.indexed and self.spec.HasField("backoff_limit_per_index")
        self.only_failed = only_replace_failed(self.spec)
        self.failed_indexes: set[int] = set()
        self.delayed: dict[int, Any] = {}  # index -> its last failed pod, kept
        self.done: set[int] = set()  # an Indexed job's succeeded indexes, once counted
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
        self.to_release: list[Any] = []  # pods whose outcome is recorded
        self.outcome: tuple[str, tuple[str, str]] | None = None
        self.succeeded_total = self.failed_total = 0

    async def run(self) -> float | None:
        failure = self._count()
        decided = self._decided()
        if decided is not None:  # pods still stopping; the outcome stands
            await self._finish(*decided)
        else:
            failure = failure or self._limits() or self._index_failure()
            met = self._success_policy()
            if failure is not None:
                await self._finish(ju.FAILED, failure)
            elif met is not None:
                await self._finish(ju.COMPLETE, (ju.SUCCESS_POLICY, met))
            elif self._complete():
                await self._finish(ju.COMPLETE, ju.COMPLETIONS_REACHED)
            elif self.spec.suspend:
                await self._suspend()
            else:
                await self._run_pods()
        self._release_delayed()
        await self._write()  # the new uncounted uids first...
        failed = await self._release()  # ...then the finalizers go...
        self._conclude()
        await self._write()  # ...and the counters move
        if failed:
            raise failed[0]
        return min(self.requeue) if self.requeue else None

    # -- counting ------------------------------------------------------------------

    def _count(self) -> tuple[str, str] | None:
        """Record the pods finished since the last sync in the uncounted lists
        (or completedIndexes); return the first FailJob match."""
        s, failure = self.status, None
        uncounted = s.uncounted_terminated_pods
        new_succeeded, new_failed = list(uncounted.succeeded), list(uncounted.failed)
        recorded = set(new_succeeded) | set(new_failed)
        done = self.done = self._succeeded_indexes()
        if self.per_index:
            self._index_failures(done, recorded)
        delayed = {p.metadata.uid for p in self.delayed.values()}
        for pod in self.pods:
            if not self.ctl.releases.tracked(pod):
                continue
            uid, phase = pod.metadata.uid, pod.status.phase
            if uid in recorded:
                pass
            elif uid in delayed:
                continue  # counted once its replacement exists
            elif phase == "Succeeded":
                if not self.indexed:
                    new_succeeded.append(uid)
            elif phase == "Failed":
                match = ju.match_failure_policy(self.job, pod)
                if match.action == "FailJob" and failure is None:
                    failure = ("PodFailurePolicy", match.message)
                if match.action != "Ignore":
                    new_failed.append(uid)
            elif pod.metadata.HasField("deletion_timestamp"):
                # Deleted before it finished: a failure, as Kubernetes counts
                # it; when only failed pods are replaced, once it has failed
                # (its node writes the phase when its containers have stopped).
                if self.only_failed:
                    continue
                new_failed.append(uid)
            else:
                continue
            self.to_release.append(pod)
        uncounted.SetInParent()
        _replace(uncounted.succeeded, new_succeeded)
        _replace(uncounted.failed, new_failed)
        if self.indexed:
            s.completed_indexes = ju.format_indexes(done)
            s.succeeded = len(done)
        if self.per_index:
            s.failed_indexes = ju.format_indexes(self.failed_indexes)
        self.succeeded_total = s.succeeded + len(new_succeeded)
        self.failed_total = s.failed + len(new_failed) + len(self.delayed)
        s.active = len(self.active)
        s.ready = sum(podutil.is_ready(p) for p in self.active)
        s.terminating = len(self.terminating)
        if not self.spec.suspend and not s.HasField("start_time"):
            s.start_time.CopyFrom(ju.stamp(self.now))
        return failure

    def _succeeded_indexes(self) -> set[int]:
        """completedIndexes and the indexes whose pods succeeded since."""
        if not self.indexed:
            return set()
        limit = self.spec.completions
        done = ju.parse_indexes(self.status.completed_indexes, limit)
        for pod in self.pods:
            i = ju.pod_index(pod)
            succeeded = pod.status.phase == "Succeeded" and self.ctl.releases.tracked(pod)
            if succeeded and i is not None and i < limit:
                done.add(i)
        return done

    def _index_failures(self, done: set[int], recorded: set[str]) -> None:
        tracked = self.ctl.releases.tracked
        self.failed_indexes = jx.failed_indexes(self.job, self.pods, tracked)
        running = {ju.pod_index(p) for p in self.active}
        settled = done | self.failed_indexes | {i for i in running if i is not None}
        self.delayed = jx.delayed_pods(
            self.job, self.pods, lambda p: tracked(p) and p.metadata.uid not in recorded, settled
        )

    def _release_delayed(self) -> None:
        """A finished job keeps no failed pod for a replacement: count them."""
        if self.outcome is None or not self.delayed:
            return
        for pod in self.delayed.values():
            self.status.uncounted_terminated_pods.failed.append(pod.metadata.uid)
            self.to_release.append(pod)
        self.delayed = {}

    async def _release(self) -> list[BaseException]:
        """Remove the finalizers of the recorded pods; move every uid whose
        pod no longer holds one from the uncounted lists to the counters."""
        releases = self.ctl.releases
        results = await asyncio.gather(
            *(releases.release(self.ctl.client, p) for p in self.to_release),
            return_exceptions=True,
        )
        # A pod released here holds no finalizer, whatever the snapshot says:
        # the informer may have seen the removal (and forgotten the release)
        # before the removal's reply came back.
        released = {
            p.metadata.uid for p, r in zip(self.to_release, results, strict=True) if r is True
        }
        holding = {p.metadata.uid for p in self.pods if releases.tracked(p)} - released
        s = self.status
        uncounted = s.uncounted_terminated_pods
        for field, kept in (
            ("succeeded", [u for u in uncounted.succeeded if u in holding]),
            ("failed", [u for u in uncounted.failed if u in holding]),
        ):
            moved = len(getattr(uncounted, field)) - len(kept)
            setattr(s, field, getattr(s, field) + moved)
            _replace(getattr(uncounted, field), kept)
        if uncounted.succeeded or uncounted.failed:
            self.requeue.append(self.ctl.batch_period)
        return [r for r in results if isinstance(r, BaseException)]

    def _limits(self) -> tuple[str, str] | None:
        s, spec = self.status, self.spec
        if self.failed_total > spec.backoff_limit:
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

    def _index_failure(self) -> tuple[str, str] | None:
        """Too many failed indexes, or every index done and one failed."""
        if not self.per_index:
            return None
        failed, spec = len(self.failed_indexes), self.spec
        if spec.HasField("max_failed_indexes") and failed > spec.max_failed_indexes:
            return ju.MAX_FAILED_INDEXES_EXCEEDED
        if failed and failed + self.status.succeeded >= spec.completions:
            return ju.FAILED_INDEXES
        return None

    def _success_policy(self) -> str | None:
        if not (self.indexed and self.spec.HasField("success_policy")):
            return None
        return ju.match_success_policy(self.job, self.done)

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
            return self.succeeded_total >= self.spec.completions
        return bool(self.succeeded or self.succeeded_total) and not self.active

    # -- outcomes ------------------------------------------------------------------------

    async def _finish(self, kind: str, why: tuple[str, str]) -> None:
        """FailureTarget / SuccessCriteriaMet at once; Failed / Complete (in
        _conclude) when no pod of the job still runs and every finished one is
        counted (as Kubernetes 1.31 does)."""
        interim = ju.FAILURE_TARGET if kind == ju.FAILED else ju.SUCCESS_CRITERIA_MET
        if ju.set_condition(self.status, interim, "True", why, self.now):
            reason = why[0] if kind == ju.FAILED else "Completed"
            kind_of_event = "Warning" if kind == ju.FAILED else "Normal"
            message = why[1] if kind == ju.FAILED else "Job completed"
            self.ctl.recorder.emit(self.job, kind_of_event, reason, message)
        await self.ctl.delete_pods(self.key, self.job, self.active)
        self.status.active = 0
        self.status.ready = 0
        self.status.terminating = len(self.active) + len(self.terminating)
        self.outcome = (kind, why)

    def _conclude(self) -> None:
        if self.outcome is None:
            return
        s, (kind, why) = self.status, self.outcome
        uncounted = s.uncounted_terminated_pods
        if s.terminating or uncounted.succeeded or uncounted.failed:
            return
        ju.set_condition(s, kind, "True", why, self.now)
        if kind == ju.COMPLETE:
            s.completion_time.CopyFrom(ju.stamp(self.now))
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
        if excess:  # as Kubernetes' manageJob: counted as terminating at once
            await self.ctl.delete_pods(self.key, self.job, excess)
            self.status.active -= len(excess)
            self.status.terminating += len(excess)
        if not missing:
            return
        if self.per_index:  # each index waits out its own back-off
            pending = [i for i in missing if i is not None]
            ctl = self.ctl
            ready, wait = jx.ready_indexes(
                pending, self.delayed, self.now, ctl.backoff_base, ctl.backoff_max
            )
            missing = list(ready)
        else:
            wait = self._backoff_left()
        if wait > 0:
            self.requeue.append(wait)
            return
        creating = missing[:BURST]
        await self.ctl.create_pods(self.key, self.job, creating, self.delayed)
        self.status.active += len(creating)  # ...and what it made as active

    def _plan(self) -> tuple[list[Any], list[int | None]]:
        """Pods to delete and indexes to create (None: a non-indexed pod)."""
        spec = self.spec
        if self.indexed:
            return self._plan_indexed()
        if spec.HasField("completions"):
            want = max(0, min(spec.parallelism, spec.completions - self.succeeded_total))
        else:
            want = len(self.active) if self.succeeded else spec.parallelism
        diff = len(self.active) - want
        if diff > 0:
            return podutil.pods_to_delete(self.active, diff), []
        return [], [None] * max(0, -diff - self._replacing())

    def _plan_indexed(self) -> tuple[list[Any], list[int | None]]:
        spec = self.spec
        done = self.done
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
        blocked = done | set(running) | self.failed_indexes
        if self.only_failed:  # a pod being deleted keeps its index until it has failed
            blocked |= {i for i in map(ju.pod_index, self.terminating) if i is not None}
        pending = [i for i in range(spec.completions) if i not in blocked]
        return excess, list(pending[: max(0, want - len(running) - self._replacing())])

    def _replacing(self) -> int:
        """Pods being deleted that still hold their place (podReplacementPolicy Failed)."""
        return len(self.terminating) if self.only_failed else 0

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
        """Write the status if it changed; the next write starts from what
        the server returned."""
        if self.status == self.job.status:
            return
        updated = podutil.copy(self.job)
        updated.status.CopyFrom(self.status)
        try:
            self.job = await self.ctl.client.update_status(updated)
        except errors.NotFoundError:
            return


def _replace(field: Any, values: list[str]) -> None:
    del field[:]
    field.extend(values)
