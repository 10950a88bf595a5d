"""The pods of one node: a worker per pod, woken by the pod informer, by the
runtime relist (a container exited) and by probes; each worker runs its
pod's syncs one at a time.

On start the manager adopts what the runtime already runs: a worker finds
its pod's sandbox and containers by label and leaves them running. Sandboxes
of pods no longer bound to the node are removed once the informer has synced.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import structlog
from shoal import errors
from shoal.agent.lifecycle import NodeContext, PodSyncer
from shoal.runtime import LABEL_NODE, LABEL_POD_UID, ContainerState, RuntimeFailure

log = structlog.get_logger("agent")


class PodWorker:
    def __init__(self, ctx: NodeContext, pod: Any, done: Callable[[str], None]) -> None:
        self.ctx, self.pod = ctx, pod
        self.uid = pod.metadata.uid
        self.gone = False  # deleted from the API without us
        self.seen = time.monotonic()  # first seen: the start of kubelet_pod_start_duration
        self.syncer = PodSyncer(ctx, self.wake)
        self._wake = asyncio.Event()
        self._done = done
        self.task = asyncio.create_task(self._run(), name=f"pod-{pod.metadata.name}")

    def wake(self) -> None:
        self._wake.set()

    def update(self, pod: Any) -> None:
        self.pod = pod
        self.wake()

    def deleted(self) -> None:
        self.gone = True
        self.wake()

    async def _run(self) -> None:
        log_ = log.bind(
            node=self.ctx.node, pod=f"{self.pod.metadata.namespace}/{self.pod.metadata.name}"
        )
        while True:
            self._wake.clear()
            try:
                if self.gone or self.pod.metadata.HasField("deletion_timestamp"):
                    await self._terminate()
                    return
                next_in = await self.syncer.sync(self.pod)
            except (errors.APIError, RuntimeFailure, OSError) as err:
                log_.warning("pod sync failed; retrying", error=str(err))
                next_in = self.ctx.retry
            except Exception:
                log_.exception("pod sync failed; retrying")
                next_in = self.ctx.retry
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), next_in)

    async def _terminate(self) -> None:
        while True:
            try:
                await self.syncer.terminate(self.pod, report=not self.gone)
                if not self.gone:
                    await self._confirm_deletion()
                break
            except (errors.APIError, RuntimeFailure, OSError) as err:
                log.warning("pod termination failed; retrying", error=str(err))
                await asyncio.sleep(self.ctx.retry)
        self._done(self.uid)

    async def _confirm_deletion(self) -> None:
        """Grace period 0: the API server may now remove the pod."""
        m = self.pod.metadata
        with contextlib.suppress(errors.NotFoundError, errors.ConflictError):
            await self.ctx.client.delete(
                "Pod", m.name, m.namespace, grace_period_seconds=0, uid=m.uid
            )

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.syncer.probes.forget_all_but(set())


class PodManager:
    """The workers of one node, fed by informer events for its pods."""

    def __init__(self, ctx: NodeContext, relist_interval: float = 1.0) -> None:
        self.ctx = ctx
        self.workers: dict[str, PodWorker] = {}
        self.relist_interval = relist_interval
        self.synced = False  # the pod informer has listed: orphans are knowable
        self.pod_start: Any = None  # kubelet_pod_start_duration_seconds, set by the agent
        self._states: dict[str, ContainerState] = {}
        self._task: asyncio.Task[None] | None = None
        self.stopped = False  # a stopped node starts no worker for a late event

    # informer handlers -------------------------------------------------------

    def pod_added(self, pod: Any) -> None:
        worker = self.workers.get(pod.metadata.uid)
        if worker is not None:
            worker.update(pod)
            return
        if self.stopped:  # an event the informer delivered as the node stopped
            return
        self.workers[pod.metadata.uid] = PodWorker(self.ctx, pod, self._finished)

    def pod_updated(self, old: Any, pod: Any) -> None:
        worker = self.workers.get(pod.metadata.uid)
        running = pod.status.phase == "Running" and old.status.phase != "Running"
        if running and worker is not None and self.pod_start is not None:
            self.pod_start.observe(time.monotonic() - worker.seen)
        self.pod_added(pod)

    def pod_deleted(self, pod: Any) -> None:
        worker = self.workers.get(pod.metadata.uid)
        if worker is not None:
            worker.deleted()

    def _finished(self, uid: str) -> None:
        self.workers.pop(uid, None)

    # relist ------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._relist_loop(), name=f"relist-{self.ctx.node}")

    async def stop(self) -> None:
        self.stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*(w.stop() for w in list(self.workers.values())))

    async def _relist_loop(self) -> None:
        while True:
            try:
                await self.relist()
            except (RuntimeFailure, OSError) as err:
                log.warning("runtime relist failed", node=self.ctx.node, error=str(err))
            await asyncio.sleep(self.relist_interval)

    async def relist(self) -> None:
        """Like the kubelet's PLEG: wake the pods whose containers changed
        state, and remove sandboxes no pod of ours owns any more."""
        states = {}
        for c in await self.ctx.runtime.list_containers():
            states[c.id] = c.state
            if self._states.get(c.id) != c.state:
                worker = self.workers.get(c.labels.get(LABEL_POD_UID, ""))
                if worker is not None:
                    worker.wake()
        self._states = states
        if self.synced:
            await self._remove_orphans()

    async def _remove_orphans(self) -> None:
        for sandbox in await self.ctx.runtime.list_pod_sandboxes():
            ours = sandbox.labels.get(LABEL_NODE, self.ctx.node) == self.ctx.node
            if ours and sandbox.uid not in self.workers:
                log.info("removing orphaned sandbox", node=self.ctx.node, pod=sandbox.name)
                with contextlib.suppress(RuntimeFailure):
                    await self.ctx.runtime.stop_pod_sandbox(sandbox.id)
                    await self.ctx.runtime.remove_pod_sandbox(sandbox.id)
