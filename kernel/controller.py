"""The base of level-triggered controllers.

Informers keep a local cache of the kinds a controller cares about and turn
every change into a *key* on a :class:`~shoal.workqueue.WorkQueue`; workers
take keys and call :meth:`Controller.reconcile`, which reads the cache (or
the API), compares desired with actual state and acts. Reconcile is
idempotent: it is called again for any reason (a change, a resync, a retry)
and must converge from whatever it finds. An exception requeues the key with
per-key exponential backoff; a returned number of seconds requeues it after
that long (for time-based state such as minReadySeconds).

A subclass sets ``name`` and, in ``__init__``, calls :meth:`watch` for its
primary kind and :meth:`informer` (plus handlers) for the kinds it owns.
Informers come from the process's :class:`~shoal.client.SharedInformerFactory`
(one per client unless ``informers=`` says otherwise), so every controller
reading pods shares one watch and one cache; handlers must treat the
objects they get as read-only::

    class ReplicaSetController(Controller):
        name = "replicaset"

        def __init__(self, client):
            super().__init__(client)
            self.sets = self.watch("ReplicaSet")
            self.pods = self.informer("Pod")
            self.pods.add_handler(self.pod_added, self.pod_updated, self.pod_deleted)

        async def reconcile(self, key: str) -> float | None: ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Hashable
from typing import Any

import structlog
from shoal import errors
from shoal.client import (
    Client,
    HandlerRegistration,
    Informer,
    SharedInformerFactory,
    object_key,
    shared_informers,
)
from shoal.events import EventRecorder
from shoal.workqueue import QueueShutDown, WorkQueue

log = structlog.get_logger("controller")


class Controller:
    """Subclass, set ``name``, implement ``reconcile``; run with ``await run()``."""

    name = "controller"
    workers = 4
    # How often every key of the primary kind is reconciled even without a
    # change (0: never), to repair anything a missed event left behind.
    resync_period = 0.0

    def __init__(
        self,
        client: Client,
        *,
        workers: int | None = None,
        informers: SharedInformerFactory | None = None,
    ) -> None:
        self.client = client
        self.informer_factory = informers or shared_informers(client)
        if workers is not None:
            self.workers = workers
        self.queue = WorkQueue(self.name)
        self.recorder = EventRecorder(client, f"{self.name}-controller")
        self.informers: dict[str, Informer] = {}
        self._primary: Informer | None = None
        self._registrations: list[HandlerRegistration] = []
        self.ready = asyncio.Event()  # set once every informer has synced

    # -- wiring --------------------------------------------------------------

    def informer(self, kind: str, namespace: str = "", **options: Any) -> Informer:
        """The shared informer for ``kind``; ``options`` are its selectors."""
        if kind not in self.informers:
            self.informers[kind] = self.informer_factory.for_kind(kind, namespace, **options)
        return self.informers[kind]

    def watch(self, kind: str, key: Callable[[Any], Hashable] = object_key) -> Informer:
        """The primary kind: every add, update and delete enqueues ``key(obj)``."""
        informer = self.informer(kind)
        registration = informer.add_handler(
            lambda obj: self.queue.add(key(obj)),
            lambda old, new: self.queue.add(key(new)),
            lambda obj: self.queue.add(key(obj)),
        )
        self._registrations.append(registration)
        self._primary = self._primary or informer
        return informer

    def enqueue(self, obj: Any) -> None:
        self.queue.add(object_key(obj))

    # -- the loop ------------------------------------------------------------

    async def reconcile(self, key: Any) -> float | None:
        """Bring the object named ``key`` to its desired state. Return seconds
        to look again after, or ``None``; raise to retry with backoff."""
        raise NotImplementedError

    async def run(self) -> None:
        """Run until cancelled."""
        for informer in self.informers.values():
            informer.start()
        tasks: list[asyncio.Task[None]] = []
        try:
            await asyncio.gather(*(i.wait_synced() for i in self.informers.values()))
            self.ready.set()
            log.info("controller started", controller=self.name, workers=self.workers)
            tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]
            if self.resync_period > 0:
                tasks.append(asyncio.create_task(self._resync()))
            await asyncio.gather(*tasks)
        finally:
            self.queue.shut_down()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for registration in self._registrations:
                registration.remove()
            for informer in self.informers.values():
                await informer.stop()
            await self.recorder.flush()

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return
            try:
                await self._process(key)
            finally:
                self.queue.done(key)

    async def _process(self, key: Hashable) -> None:
        try:
            after = await self.reconcile(key)
        except asyncio.CancelledError:
            raise
        except errors.ConflictError:
            # Someone wrote the object since our cache saw it: the watch brings
            # the newer version and the retry works from it. Routine, not news.
            log.debug("reconcile conflicted; retrying", controller=self.name, key=str(key))
            self.queue.add_rate_limited(key)
            return
        except Exception as err:
            log.warning(
                "reconcile failed; retrying",
                controller=self.name,
                key=str(key),
                error=f"{type(err).__name__}: {err}",
                retry_in=round(self.queue.when(key), 3),
            )
            self.queue.add_rate_limited(key)
            return
        self.queue.forget(key)
        if after is not None:
            self.queue.add_after(key, after)

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.resync_period)
            if self._primary is not None:
                for obj in self._primary.list():
                    self.enqueue(obj)
