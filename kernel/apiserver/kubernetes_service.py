"""The ``kubernetes`` Service in ``default``, kept by the API server itself,
as Kubernetes' apiserver keeps it (its "master endpoints reconciler"):

- the Service: ClusterIP the first address of the service range
  (``10.96.0.1``), port 443 named ``https``, targetPort the HTTPS
  gateway's port, no selector;
- its Endpoints: the API server's advertised address with that port.

So a program in a pod finds the API the way Kubernetes' clients do
(``KUBERNETES_SERVICE_HOST``/``_PORT``, ``kubernetes.default.svc``). Both
are put back if deleted or changed, on every change seen and every
``INTERVAL`` seconds. Only the REST gateway (``--http-listen``) speaks the
Kubernetes API, so a server without one keeps no ``kubernetes`` Service.

Several API servers sharing one etcd each write their own address, the last
one winning (Kubernetes' lease reconciler, which lists them all, is future
work).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from typing import Any

import structlog
from shoal import errors, kinds
from shoal.controller import Controller

log = structlog.get_logger("apiserver")

NAMESPACE, NAME = "default", "kubernetes"
KEY = f"{NAMESPACE}/{NAME}"
PORT_NAME, SERVICE_PORT = "https", 443
INTERVAL = 10.0  # Kubernetes' --endpoint-reconciler interval
LABELS = {"component": "apiserver", "provider": "kubernetes"}


def advertise_address(listen_host: str, asked: str = "") -> str:
    """The IP the Endpoints list: ``asked`` (``--advertise-address``), else
    the gateway's listen address; for a wildcard or a name, what this host's
    name resolves to locally, else loopback (one machine)."""
    for text in (asked, listen_host.strip("[]")):
        if not text:
            continue
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if not ip.is_unspecified:
            return str(ip)
        break
    if listen_host.strip("[]") in ("localhost", ""):
        return "127.0.0.1"
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def desired_service(cluster_ip: str, target_port: int) -> Any:
    svc = kinds.resolve("Service").message()
    svc.metadata.name, svc.metadata.namespace = NAME, NAMESPACE
    svc.metadata.labels.update(LABELS)
    svc.spec.type = "ClusterIP"
    svc.spec.cluster_ip = cluster_ip
    svc.spec.session_affinity = "None"
    port = svc.spec.ports.add(name=PORT_NAME, port=SERVICE_PORT, protocol="TCP")
    port.target_port.number_value = target_port
    return svc


def desired_endpoints(address: str, port: int) -> Any:
    ep = kinds.resolve("Endpoints").message()
    ep.metadata.name, ep.metadata.namespace = NAME, NAMESPACE
    ep.metadata.labels["endpointslice.kubernetes.io/skip-mirror"] = "true"
    subset = ep.subsets.add()
    subset.addresses.add(ip=address)
    subset.ports.add(name=PORT_NAME, port=port, protocol="TCP")
    return ep


class KubernetesServiceReconciler(Controller):
    """Keeps ``default/kubernetes`` and its Endpoints; runs in ``shoal server``
    beside the gateway (it needs the gateway's address)."""

    name = "kubernetes-service"
    workers = 1

    def __init__(self, client: Any, *, cluster_ip: str, address: str, port: int) -> None:
        super().__init__(client)
        self.cluster_ip, self.address, self.port = cluster_ip, address, port
        selector = f"metadata.name={NAME}"
        for kind in ("Service", "Endpoints"):
            informer = self.informer(kind, NAMESPACE, field_selector=selector)
            informer.add_handler(self._poke, lambda _old, _new: self._poke(None), self._poke)

    def _poke(self, _obj: Any) -> None:
        self.queue.add(KEY)

    async def run(self) -> None:
        self.queue.add(KEY)
        await super().run()

    async def reconcile(self, key: Any) -> float | None:
        await self._ensure_service()
        await self._ensure_endpoints()
        return INTERVAL

    async def _ensure_service(self) -> None:
        want = desired_service(self.cluster_ip, self.port)
        have = self.informers["Service"].get(NAME, NAMESPACE)
        if have is None:
            try:
                await self.client.create(want)
                log.info("created the kubernetes service", cluster_ip=self.cluster_ip)
            except errors.AlreadyExistsError:
                pass  # the informer brings it, and the next pass compares
            return
        if list(have.spec.ports) == list(want.spec.ports) and have.spec.type == "ClusterIP":
            return
        if have.spec.cluster_ip != self.cluster_ip:
            log.warning(
                "the kubernetes service has another ClusterIP than the first address of the "
                "service range; delete it to have it made again",
                cluster_ip=have.spec.cluster_ip,
                expected=self.cluster_ip,
            )
        new = type(have)()
        new.CopyFrom(have)
        new.spec.type = "ClusterIP"
        del new.spec.ports[:]
        new.spec.ports.extend(want.spec.ports)
        await self.client.update(new)

    async def _ensure_endpoints(self) -> None:
        want = desired_endpoints(self.address, self.port)
        have = self.informers["Endpoints"].get(NAME, NAMESPACE)
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
