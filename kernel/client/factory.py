"""One informer per kind per process: client-go's SharedInformerFactory.

Every controller, the scheduler and any plugin in a process ask the factory
for an informer instead of making one, so a kind is listed, watched and
cached once however many consumers read it::

    pods = shared_informers(client).for_kind("Pod")
    registration = pods.add_handler(on_add, on_update, on_delete)
    pods.start()              # counted: the watch runs while anyone uses it
    await registration.wait_for_sync()
    ...
    registration.remove()
    await pods.stop()

Informers are keyed by (kind, namespace, label selector, field selector), so
an agent's informer over ``spec.nodeName=...`` is a different one from the
control plane's over every pod.

:func:`shared_informers` keeps one factory per :class:`~shoal.client.Client`:
the control plane talks through one client, so everything it runs shares.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from shoal import kinds
from shoal.client.client import Client
from shoal.client.informer import Informer

InformerKey = tuple[str, str, str, str]


def _kind_name(kind: str) -> str:
    """``pods`` and ``Pod`` are one informer; ``crontabs.v1.a.example.com``
    and ``crontabs.v1.b.example.com`` two."""
    try:
        return kinds.request_name(kinds.resolve(kind))
    except (kinds.UnknownKindError, KeyError):
        return kind  # a kind this process does not know yet (a CRD): as given


class SharedInformerFactory:
    def __init__(self, client: Client, **informer_options: Any) -> None:
        self.client = client
        self._options = informer_options
        self._informers: dict[InformerKey, Informer] = {}
        self._started: set[InformerKey] = set()
        self._running = False

    def for_kind(
        self,
        kind: str,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> Informer:
        """The shared informer for ``kind`` (made on first use)."""
        key = (_kind_name(kind), namespace, label_selector, field_selector)
        informer = self._informers.get(key)
        if informer is None:
            informer = Informer(
                self.client,
                key[0],
                namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                **self._options,
            )
            self._informers[key] = informer
            if self._running:
                self._start(key)
        return informer

    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def start(self) -> None:
        """Start every informer made so far, and any made later, until
        :meth:`shutdown` (consumers' own ``start``/``stop`` add to this)."""
        self._running = True
        for key in self._informers:
            self._start(key)

    def _start(self, key: InformerKey) -> None:
        if key not in self._started:
            self._started.add(key)
            self._informers[key].start()

    async def wait_for_cache_sync(self, timeout: float | None = None) -> None:
        for informer in list(self._informers.values()):
            if informer.running:
                await informer.wait_for_sync(timeout)

    async def shutdown(self) -> None:
        """Drop the factory's own hold on its informers."""
        self._running = False
        for key in list(self._started):
            await self._informers[key].stop()
        self._started.clear()


_factories: weakref.WeakKeyDictionary[Client, SharedInformerFactory] = weakref.WeakKeyDictionary()


def shared_informers(client: Client) -> SharedInformerFactory:
    """The process's factory for ``client`` (one per client)."""
    factory = _factories.get(client)
    if factory is None:
        factory = _factories[client] = SharedInformerFactory(client)
    return factory


async def run_every(informers: tuple[Informer, ...], step: Any, period: float) -> None:
    """Start ``informers``, wait until each has synced, then await
    ``step()`` every ``period`` seconds until cancelled; the informers stop
    with it (a periodic controller's loop: node lifecycle, pod GC)."""
    for informer in informers:
        informer.start()
    try:
        for informer in informers:
            await informer.wait_synced()
        while True:
            await step()
            await asyncio.sleep(period)
    finally:
        for informer in informers:
            await informer.stop()
