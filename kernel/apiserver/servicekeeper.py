"""A Service and its Endpoints the API server keeps itself (``kubernetes``
in ``default``, ``kube-dns`` in ``kube-system``): made when missing, put
back when their ports or addresses drift, on every change seen and every
``INTERVAL`` seconds. Subclasses say what the two objects should be."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import structlog
from shoal import errors
from shoal.controller import Controller

log = structlog.get_logger("apiserver")

INTERVAL = 10.0  # Kubernetes' --endpoint-reconciler interval


class ServiceKeeper(Controller):
    namespace: ClassVar[str]
    service: ClassVar[str]
    workers = 1

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        selector = f"metadata.name={self.service}"
        for kind in ("Service", "Endpoints"):
            self.watch_for_changes(self.informer(kind, self.namespace, field_selector=selector))

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.service}"

    def watch_for_changes(self, informer: Any) -> None:
        """Any change ``informer`` sees makes the keeper look again."""
        informer.add_handler(self._poke, lambda _old, _new: self._poke(None), self._poke)

    def _poke(self, _obj: Any) -> None:
        self.queue.add(self.key)

    async def run(self) -> None:
        self.queue.add(self.key)
        await super().run()

    async def reconcile(self, key: Any) -> float | None:
        await self.before_reconcile()
        await self._ensure_service()
        await self._ensure_endpoints()
        return INTERVAL

    async def before_reconcile(self) -> None:
        """What must exist first (the namespace of a Service outside default)."""

    def desired_service(self) -> Any:
        raise NotImplementedError

    def desired_endpoints(self) -> Any:
        raise NotImplementedError

    def service_drifted(self, have: Any, want: Any) -> bool:
        return list(have.spec.ports) != list(want.spec.ports)

    def repair_service(self, new: Any, want: Any) -> None:
        """Bring a drifted Service (a copy of what is stored) back in line."""
        del new.spec.ports[:]
        new.spec.ports.extend(want.spec.ports)

    async def _ensure_service(self) -> None:
        want = self.desired_service()
        have = self.informers["Service"].get(self.service, self.namespace)
        if have is None:
            try:
                await self.client.create(want)
                log.info("created a service", service=self.key, cluster_ip=want.spec.cluster_ip)
            except errors.AlreadyExistsError:
                pass  # the informer brings it, and the next pass compares
            return
        if not self.service_drifted(have, want):
            return
        new = type(have)()
        new.CopyFrom(have)
        self.repair_service(new, want)
        await self.client.update(new)

    async def _ensure_endpoints(self) -> None:
        want = self.desired_endpoints()
        have = self.informers["Endpoints"].get(self.service, self.namespace)
        if have is None:
            with contextlib.suppress(errors.AlreadyExistsError):  # the informer brings it
                await self.client.create(want)
            return
        if list(have.subsets) == list(want.subsets):
            return
        new = type(have)()
        new.CopyFrom(have)
        del new.subsets[:]
        new.subsets.extend(want.subsets)
        await self.client.update(new)
