"""The scheduler: informers feed the cache and the queue; one loop pops a
pod, runs the scheduling cycle of its profile's framework (filter, score,
reserve), assumes the pod onto the chosen node and hands the binding cycle
(permit, pre-bind, bind, post-bind) to a background task, so binds to the
API overlap while the next pod is already being placed. Each profile serves
the pods whose ``spec.schedulerName`` is its name.

A bind is a Binding (the pod's ``binding`` subresource) carrying the pod's
uid and ``metadata.resourceVersion``; it sets ``spec.nodeName`` and the
PodScheduled condition in one write. If the pod changed (or another
scheduler bound it) since we read it, the API refuses it and we bind nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import structlog
from shoal import errors, metrics, plugin_manager
from shoal.api.v1 import core_pb2
from shoal.client import Client, SharedInformerFactory, object_key, shared_informers
from shoal.events import NORMAL, WARNING, EventRecorder
from shoal.plugins.scheduler.cache import PodInfo, SchedulerCache
from shoal.plugins.scheduler.conditions import pod_scheduled_condition, set_condition
from shoal.plugins.scheduler.decision import ANNOTATION, DecisionRecorder, annotate, encode
from shoal.plugins.scheduler.framework import FitError, Framework
from shoal.plugins.scheduler.preemption import Candidate
from shoal.plugins.scheduler.profile import DEFAULT_SCHEDULER_NAME, SchedulerProfile
from shoal.plugins.scheduler.queue import QueuedPod, SchedulingQueue
from shoal.plugins.scheduler.victims import delete_victims
from shoal.scheduling import CycleState, Status

log = structlog.get_logger("scheduler")

__all__ = ["DEFAULT_SCHEDULER_NAME", "Scheduler"]


def _node_signature(node: Any) -> tuple[Any, ...]:
    """What about a node can change where pods fit (not its heartbeats)."""
    ready = [(c.status) for c in node.status.conditions if c.type == "Ready"]
    return (
        dict(node.metadata.labels),
        list(node.spec.taints),
        node.spec.unschedulable,
        dict(node.status.allocatable),
        ready,
    )


def _pod_changed(old: Any, new: Any) -> bool:
    """A change a scheduler must reconsider: not status, not resourceVersion."""
    return (
        old.spec != new.spec
        or old.metadata.labels != new.metadata.labels
        or _annotations(old) != _annotations(new)
    )


def _annotations(pod: Any) -> dict[str, str]:
    """Without our own decision record (its write must not requeue the pod)."""
    annotations = dict(pod.metadata.annotations)
    annotations.pop(ANNOTATION, None)
    return annotations


def _finished(pod: Any) -> bool:
    return pod.status.phase in ("Succeeded", "Failed")


def _version(obj: Any) -> int:
    return int(obj.metadata.resource_version or 0)


class Scheduler:
    def __init__(
        self,
        client: Client,
        *,
        plugins: Sequence[tuple[str, Any]] | None = None,
        scheduler_name: str = DEFAULT_SCHEDULER_NAME,
        percentage_of_nodes_to_score: int = 0,
        bind_concurrency: int = 256,
        identity: str = "",
        initial_backoff: float = 1.0,
        informers: SharedInformerFactory | None = None,
        profiles: Sequence[SchedulerProfile] | None = None,
        record_decisions: bool = True,
    ) -> None:
        """``profiles`` (from ``--scheduler-config``): one framework per
        schedulerName; by default one profile, ``scheduler_name``, running
        every registered plugin in registration order."""
        self.client = client
        if plugins is None:
            plugins = plugin_manager.scheduler_plugins().items()
        plugins = list(plugins)
        profiles = profiles or [SchedulerProfile(scheduler_name)]
        self.frameworks = {
            p.scheduler_name: Framework(
                plugins, profile=p, percentage_of_nodes_to_score=percentage_of_nodes_to_score
            )
            for p in profiles
        }
        self.scheduler_name = profiles[0].scheduler_name
        self.framework = self.frameworks[self.scheduler_name]
        # shoal why: a compact decision per pod, carried to the pod's annotation
        self.decisions = DecisionRecorder() if record_decisions else None
        for framework in self.frameworks.values():
            framework.recorder = self.decisions
        self.cache = SchedulerCache()
        self.queue = SchedulingQueue(initial_backoff=initial_backoff)
        metrics.track_scheduling_queue(self.queue)  # scheduler_pending_pods{queue}
        self.recorder = EventRecorder(client, DEFAULT_SCHEDULER_NAME, host=identity)
        factory = informers or shared_informers(client)
        self.pods = factory.for_kind("Pod")
        self.nodes = factory.for_kind("Node")
        self.budgets = factory.for_kind("PodDisruptionBudget")
        # Kinds plugins read (``watch_kinds``: VolumeBinding's claims and
        # volumes); they reach the plugins as state["informers"].
        self.plugin_informers = {
            kind: factory.for_kind(kind)
            for _, obj in plugins
            for kind in getattr(obj, "watch_kinds", ())
        }
        self._binds = asyncio.Semaphore(bind_concurrency)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.bound = 0
        self.bind_conflicts = 0
        self._registrations = [
            self.nodes.add_handler(self._node_added, self._node_updated, self._node_deleted),
            self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted),
            self.budgets.add_handler(
                self.cache.set_pdb, lambda _old, new: self.cache.set_pdb(new), self.cache.remove_pdb
            ),
        ]
        for informer in self.plugin_informers.values():
            # a claim or volume that appears or changes may let a pod fit
            self._registrations.append(
                informer.add_handler(self._plugin_kind_added, self._plugin_kind_updated, None)
            )

    # -- informer handlers ---------------------------------------------------

    def _plugin_kind_added(self, _obj: Any) -> None:
        self.queue.move_all_to_active_or_backoff()

    def _plugin_kind_updated(self, _old: Any, _new: Any) -> None:
        self.queue.move_all_to_active_or_backoff()

    def _responsible(self, pod: Any) -> bool:
        return self._framework_of(pod) is not None and not pod.metadata.HasField(
            "deletion_timestamp"
        )

    def _framework_of(self, pod: Any) -> Framework | None:
        return self.frameworks.get(pod.spec.scheduler_name or DEFAULT_SCHEDULER_NAME)

    def _pod_added(self, pod: Any) -> None:
        if pod.spec.node_name:
            self.cache.set_pod(pod)
        elif self._responsible(pod) and not _finished(pod):
            self._nominated(pod)
            self.queue.add(pod)

    def _nominated(self, pod: Any) -> None:
        """A pending pod's ``status.nominatedNodeName`` holds room for it
        (set by a preemption, maybe by an earlier scheduler)."""
        if pod.status.nominated_node_name:
            self.cache.nominate(pod, pod.status.nominated_node_name)

    def _pod_updated(self, old: Any, new: Any) -> None:
        key = object_key(new)
        if new.spec.node_name:
            if not old.spec.node_name:
                self.queue.delete(key)
                self.cache.unnominate(key)
            self.cache.set_pod(new)
            if _finished(new) and not _finished(old):
                self.queue.move_all_to_active_or_backoff()  # its room is free
        elif self._responsible(new):
            self._nominated(new)
            self.queue.add(new, changed=_pod_changed(old, new))
        else:
            self.cache.unnominate(key)
            self.queue.delete(key)

    def _pod_deleted(self, pod: Any) -> None:
        key = object_key(pod)
        if pod.spec.node_name or self.cache.is_assumed(key):
            self.cache.remove_pod(key)
            self.queue.move_all_to_active_or_backoff()
        self.cache.unnominate(key)
        self.queue.delete(key)

    def _node_added(self, node: Any) -> None:
        self.cache.set_node(node)
        self.queue.move_all_to_active_or_backoff()

    def _node_updated(self, old: Any, new: Any) -> None:
        self.cache.set_node(new)
        if _node_signature(old) != _node_signature(new):
            self.queue.move_all_to_active_or_backoff()

    def _node_deleted(self, node: Any) -> None:
        self.cache.remove_node(node.metadata.name)

    # -- running -------------------------------------------------------------

    async def run(self) -> None:
        self.nodes.start()
        self.pods.start()
        self.budgets.start()
        for informer in self.plugin_informers.values():
            informer.start()
        ticker = asyncio.create_task(self._expire_assumed())
        try:
            # Synced handlers, not just caches: our cache and queue are fed
            # through the handlers' buffers.
            for registration in self._registrations:
                await registration.wait_for_sync()
            log.info("scheduler started", nodes=len(self.cache.nodes), pending=len(self.queue))
            while True:
                await self.schedule_one()
        finally:
            self.queue.close()
            ticker.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(ticker, *self._tasks, return_exceptions=True)
            for registration in self._registrations:
                registration.remove()
            await self.budgets.stop()
            await self.pods.stop()
            await self.nodes.stop()
            for informer in self.plugin_informers.values():
                await informer.stop()

    async def _expire_assumed(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            self.cache.expire_assumed()

    async def schedule_one(self) -> None:
        queued = await self.queue.pop()
        started = time.perf_counter()
        pod = queued.pod
        framework = self._framework_of(pod) or self.framework
        info = PodInfo.of(pod)
        state: CycleState = {"client": self.client, "informers": self.plugin_informers}
        try:
            node = framework.schedule(pod, self.cache, info, state)
        except FitError as err:
            self._attempted("unschedulable", started)
            chosen: Candidate | None = state.get("preemption")
            if chosen is not None:  # victims chosen: the pod waits for their room
                self.cache.nominate(pod, chosen.node)
                self._spawn(self._preempt(queued, chosen, str(err), state.get("decision")))
            else:
                nominated = self._cleared_nomination(pod, state)
                self._spawn(
                    self._record_unschedulable(
                        queued, str(err), nominated=nominated, decision=state.get("decision")
                    )
                )
            self.queue.requeue_unschedulable(queued)
            return
        except Exception:
            self._attempted("error", started)
            log.exception("scheduling cycle failed", pod=queued.key)
            self.queue.requeue_backoff(queued)
            return
        self.cache.assume_pod(info, node)
        reserved = framework.run_reserve(pod, node, state)
        if not reserved.is_success():
            self._cycle_failed(queued, reserved)
            return
        await self._binds.acquire()
        self._spawn(self._bind(queued, node, framework, state, started))

    def _cleared_nomination(self, pod: Any, state: CycleState) -> str | None:
        """ "" if preemption found no room and the pod's nomination must go
        (then its held room is released at once), else None (leave it)."""
        key = object_key(pod)
        if not state.get("preemption_cleared"):
            return None
        if not (self.cache.nominated_node(key) or pod.status.nominated_node_name):
            return None
        self.cache.unnominate(key)
        return ""

    def _cycle_failed(self, queued: QueuedPod, status: Status) -> None:
        """A plugin refused the pod after a node was chosen: it is tried again."""
        self.cache.forget_pod(queued.key)
        message = f"{status.plugin or 'plugin'}: {status.message or status.code.value}"
        if status.is_rejected():
            self._spawn(self._record_unschedulable(queued, message))
            self.queue.requeue_unschedulable(queued)
        else:
            log.warning("scheduling failed", pod=queued.key, error=message)
            self.queue.requeue_backoff(queued)

    def _attempted(self, result: str, started: float) -> None:
        """scheduler_schedule_attempts_total and the attempt's duration (binding included)."""
        metrics.scheduler_schedule_attempts_total.labels(result, self.scheduler_name).inc()
        metrics.scheduler_scheduling_attempt_duration_seconds.labels(
            result, self.scheduler_name
        ).observe(time.perf_counter() - started)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- binding ---------------------------------------------------------------

    async def _bind(
        self, queued: QueuedPod, node: str, framework: Framework, state: CycleState, started: float
    ) -> None:
        try:
            bound = await self._binding_cycle(queued, node, framework, state)
        finally:
            self._binds.release()
        self._attempted("scheduled" if bound is not None else "error", started)
        if bound is None:
            framework.run_unreserve(queued.pod, node, state)
            return
        framework.run_post_bind(bound, node, state)
        await self._record_scheduled(bound, node)

    async def _binding_cycle(
        self, queued: QueuedPod, node: str, framework: Framework, state: CycleState
    ) -> Any:
        """Permit, pre-bind, bind: the bound pod, or None (already requeued)."""
        pod = queued.pod
        for point, step in (
            ("permit", framework.run_permit),
            ("preBind", framework.run_pre_bind),
            ("bind", framework.run_bind),
        ):
            if not framework.points[point]:  # the usual profile: nothing to wait for
                continue
            status = await step(pod, node, state)
            if status.is_success() and step == framework.run_bind:
                return self._bound(queued)  # a bind plugin bound it
            if not (status.is_success() or status.is_skip()):
                self._cycle_failed(queued, status)
                return None
        # no bind plugin took it: our own binder
        return await self.bind_pod(queued, node, state.get("decision"))

    def _bound(self, queued: QueuedPod) -> Any:
        self.cache.unnominate(queued.key)
        self.cache.finish_binding(queued.key)
        self.queue.done(queued.key)
        self.bound += 1
        return queued.pod

    async def bind_pod(
        self, queued: QueuedPod, node: str, decision: dict[str, Any] | None = None
    ) -> Any:
        """Bind through a Binding: nodeName and PodScheduled=True in one write,
        refused if the pod moved on (another version, or already bound); the
        Binding carries the decision record, which the API server copies onto
        the pod."""
        pod, key = queued.pod, queued.key
        binding = core_pb2.Binding()
        m = binding.metadata
        m.name, m.namespace = pod.metadata.name, pod.metadata.namespace
        m.uid, m.resource_version = pod.metadata.uid, pod.metadata.resource_version
        binding.target.kind, binding.target.name = "Node", node
        if decision is not None:
            m.annotations[ANNOTATION] = encode(decision)
        try:
            await self.client.create(binding)
        except errors.NotFoundError:
            self.cache.forget_pod(key)
            self.queue.done(key)
            return None
        except (errors.ConflictError, errors.InvalidError) as err:
            # Changed or bound since we read it: the informer brings the new
            # version, which either leaves the queue (bound) or is tried again.
            self.bind_conflicts += 1
            log.info("bind refused; will retry", pod=key, node=node, error=str(err))
            self.cache.forget_pod(key)
            self.queue.requeue_backoff(queued)
            return None
        except (errors.APIError, OSError) as err:
            log.warning("bind failed; will retry", pod=key, node=node, error=str(err))
            self.cache.forget_pod(key)
            self.queue.requeue_backoff(queued)
            return None
        return self._bound(queued)

    async def _record_scheduled(self, pod: Any, node: Any) -> None:
        m = pod.metadata
        self.recorder.emit(
            pod, NORMAL, "Scheduled", f"Successfully assigned {m.namespace}/{m.name} to {node}"
        )

    async def _preempt(
        self, queued: QueuedPod, chosen: Candidate, message: str, decision: Any = None
    ) -> None:
        """Delete the victims, then record the failure with the nominated node."""
        await delete_victims(self.client, self.recorder, queued.pod, chosen)
        await self._record_unschedulable(queued, message, nominated=chosen.node, decision=decision)

    async def _record_unschedulable(
        self,
        queued: QueuedPod,
        message: str,
        *,
        nominated: str | None = None,
        decision: dict[str, Any] | None = None,
    ) -> None:
        pod = queued.pod
        condition = pod_scheduled_condition(False, message)
        written = await self._write_condition(pod, condition, nominated)
        if decision is not None:  # after the condition: it may clear a nomination
            written = await annotate(self.client, written or pod, decision) or written
        # last, so whoever reacts to the event finds the pod written
        self.recorder.emit(pod, WARNING, "FailedScheduling", message)
        if written is not None and _version(queued.pod) <= _version(written):
            queued.pod = written  # so the next bind carries the current version

    async def _write_condition(self, pod: Any, condition: Any, nominated: str | None = None) -> Any:
        """Set the PodScheduled condition, and ``status.nominatedNodeName``
        if ``nominated`` is not None (a few tries on conflict)."""
        for _attempt in range(3):
            copy = type(pod)()
            copy.CopyFrom(pod)
            changed = set_condition(copy.status.conditions, condition)
            if nominated is not None and copy.status.nominated_node_name != nominated:
                copy.status.nominated_node_name, changed = nominated, True
            if not changed:
                return None
            try:
                return await self.client.update_status(copy)
            except errors.ConflictError:
                with contextlib.suppress(errors.APIError):
                    pod = await self.client.get("Pod", pod.metadata.name, pod.metadata.namespace)
                    continue
                return None
            except (errors.APIError, OSError) as err:
                log.debug("could not write PodScheduled", pod=object_key(pod), error=str(err))
                return None
        return None
