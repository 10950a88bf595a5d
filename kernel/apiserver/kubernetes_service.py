"""The ``kubernetes`` Service in ``default``, kept by the API server itself,
as Kubernetes' apiserver keeps it (its "master endpoints reconciler"):

- the Service: ClusterIP the first address of the service range
  (``10.96.0.1``), port 443 named ``https``, targetPort the HTTPS
  gateway's port, no selector;
- its Endpoints: the API server's advertised address with that port.

So a program in a pod finds the API the way Kubernetes' clients do
(``KUBERNETES_SERVICE_HOST``/``_PORT``, ``kubernetes.default.svc``). Both
are put back if deleted or changed, on every change seen and every
``servicekeeper.INTERVAL`` seconds. Only the REST gateway (``--http-listen``) speaks the
Kubernetes API, so a server without one keeps no ``kubernetes`` Service.

Several API servers sharing one etcd each write their own address, the last
one winning (Kubernetes' lease reconciler, which lists them all, is future
work).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import structlog
from shoal import kinds
from shoal.apiserver.servicekeeper import ServiceKeeper

log = structlog.get_logger("apiserver")

NAMESPACE, NAME = "default", "kubernetes"
PORT_NAME, SERVICE_PORT = "https", 443
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


class KubernetesServiceReconciler(ServiceKeeper):
    """Keeps ``default/kubernetes`` and its Endpoints; runs in ``shoal server``
    beside the gateway (it needs the gateway's address)."""

    name = "kubernetes-service"
    namespace, service = NAMESPACE, NAME

    def __init__(self, client: Any, *, cluster_ip: str, address: str, port: int) -> None:
        super().__init__(client)
        self.cluster_ip, self.address, self.port = cluster_ip, address, port

    def desired_service(self) -> Any:
        return desired_service(self.cluster_ip, self.port)

    def desired_endpoints(self) -> Any:
        return desired_endpoints(self.address, self.port)

    def service_drifted(self, have: Any, want: Any) -> bool:
        return super().service_drifted(have, want) or have.spec.type != "ClusterIP"

    def repair_service(self, new: Any, want: Any) -> None:
        if new.spec.cluster_ip != self.cluster_ip:
            log.warning(
                "the kubernetes service has another ClusterIP than the first address of the "
                "service range; delete it to have it made again",
                cluster_ip=new.spec.cluster_ip,
                expected=self.cluster_ip,
            )
        new.spec.type = "ClusterIP"
        super().repair_service(new, want)
