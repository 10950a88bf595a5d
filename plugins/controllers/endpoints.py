"""The endpoints controller: for every Service with a selector, an Endpoints
object of the same name listing the pods behind it, as Kubernetes'
``EndpointController`` keeps it.

Ready pods go in ``addresses``, pods with an IP that are not (yet) ready in
``notReadyAddresses`` (``publishNotReadyAddresses`` puts every pod in
``addresses``). Each service port becomes an endpoint port whose number comes
from ``targetPort``: a number as is, a name looked up among the pod's
container ports, so pods of two image versions may listen on different
numbers under one name. Pods with the same resolved ports share a subset.
A Service without a selector is left alone: its Endpoints are the user's.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from shoal import errors, hookimpl, selectors
from shoal.api.v1 import core_pb2
from shoal.client import object_key
from shoal.controller import Controller
from shoal.plugins.controllers.podutil import is_ready
from shoal.registry import Registry

log = structlog.get_logger("endpoints")

PortKey = tuple[tuple[str, int, str], ...]  # (name, number, protocol) per port


def resolve_target_port(service_port: Any, pod: Any) -> int | None:
    """The pod's port for ``service_port``; None when a named port is not
    declared by any container of the pod (with that protocol)."""
    target = service_port.target_port
    if target.HasField("number_value"):
        return int(target.number_value)
    if not target.HasField("string_value"):
        return int(service_port.port)
    protocol = service_port.protocol or "TCP"
    for container in pod.spec.containers:
        for port in container.ports:
            if port.name == target.string_value and (port.protocol or "TCP") == protocol:
                return int(port.container_port)
    return None


def _address(pod: Any, service: Any) -> Any:
    address = core_pb2.EndpointAddress(ip=pod.status.pod_ip)
    if pod.spec.node_name:
        address.node_name = pod.spec.node_name
    if pod.spec.hostname and pod.spec.subdomain == service.metadata.name:
        address.hostname = pod.spec.hostname
    ref = address.target_ref
    m = pod.metadata
    ref.kind, ref.namespace, ref.name = "Pod", m.namespace, m.name
    ref.uid, ref.resource_version = m.uid, m.resource_version
    return address


def _serves(pod: Any) -> bool:
    """A pod with an IP that is neither finished nor going away."""
    return (
        bool(pod.status.pod_ip)
        and not pod.metadata.HasField("deletion_timestamp")
        and pod.status.phase not in ("Succeeded", "Failed")
    )


def _port_key(service: Any, pod: Any) -> PortKey:
    ports = []
    for port in service.spec.ports:
        number = resolve_target_port(port, pod)
        if number is not None:
            ports.append((port.name, number, port.protocol or "TCP"))
    return tuple(ports)


def endpoint_subsets(service: Any, pods: list[Any]) -> list[Any]:
    """The subsets for ``service`` over the pods its selector matched."""
    groups: dict[PortKey, Any] = {}
    publish_all = service.spec.publish_not_ready_addresses
    for pod in sorted(pods, key=lambda p: (p.status.pod_ip, p.metadata.name)):
        if not _serves(pod):
            continue
        key = _port_key(service, pod)
        if service.spec.ports and not key:
            continue  # none of the service's ports exists on this pod
        subset = groups.get(key)
        if subset is None:
            subset = groups[key] = core_pb2.EndpointSubset(
                ports=[core_pb2.EndpointPort(name=n, port=p, protocol=pr) for n, p, pr in key]
            )
        ready = publish_all or is_ready(pod)
        (subset.addresses if ready else subset.not_ready_addresses).append(_address(pod, service))
    return [groups[key] for key in sorted(groups)]


class EndpointsController(Controller):
    name = "endpoints"

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        super().__init__(client, workers=workers)
        self.services = self.watch("Service")
        self.endpoints = self.informer("Endpoints")
        self.endpoints.add_handler(None, None, self._endpoints_deleted)
        self.pods = self.informer("Pod")
        self.pods.add_handler(self._pod_changed, self._pod_updated, self._pod_changed)

    # -- events -> service keys ------------------------------------------------

    def _pod_changed(self, pod: Any) -> None:
        for service in self.services.by_index("namespace", pod.metadata.namespace):
            selector = service.spec.selector
            if selector and selectors.label_selector_from_map(selector).matches(
                pod.metadata.labels
            ):
                self.enqueue(service)

    def _pod_updated(self, old: Any, new: Any) -> None:
        self._pod_changed(new)
        if old.metadata.labels != new.metadata.labels:
            self._pod_changed(old)  # services that matched before and no longer do

    def _endpoints_deleted(self, endpoints: Any) -> None:
        self.queue.add(object_key(endpoints))  # recreate it if its service stays

    # -- reconcile -------------------------------------------------------------

    async def reconcile(self, key: Any) -> float | None:
        namespace, _, name = str(key).rpartition("/")
        service = self.services.get(name, namespace)
        if service is None or service.metadata.HasField("deletion_timestamp"):
            await self._delete(namespace, name)
            return None
        if not service.spec.selector:
            return None
        selector = selectors.label_selector_from_map(service.spec.selector)
        pods = [
            p
            for p in self.pods.by_index("namespace", namespace)
            if selector.matches(p.metadata.labels)
        ]
        await self._write(service, endpoint_subsets(service, pods))
        return None

    async def _delete(self, namespace: str, name: str) -> None:
        if self.endpoints.get(name, namespace) is None:
            return
        with contextlib.suppress(errors.NotFoundError):
            await self.client.delete("Endpoints", name, namespace)

    async def _write(self, service: Any, subsets: list[Any]) -> None:
        m = service.metadata
        current = self.endpoints.get(m.name, m.namespace)
        labels = dict(m.labels)
        if current is not None:
            if list(current.subsets) == subsets and dict(current.metadata.labels) == labels:
                return
            updated = core_pb2.Endpoints()
            updated.CopyFrom(current)
            del updated.subsets[:]
            updated.subsets.extend(subsets)
            updated.metadata.ClearField("labels")
            updated.metadata.labels.update(labels)
            await self.client.update(updated)
            return
        fresh = core_pb2.Endpoints(subsets=subsets)
        fresh.metadata.name, fresh.metadata.namespace = m.name, m.namespace
        fresh.metadata.labels.update(labels)
        try:
            await self.client.create(fresh)
        except errors.AlreadyExistsError:
            raise errors.ConflictError("endpoints appeared meanwhile; retrying") from None


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("endpoints", EndpointsController)
