"""Two of Kubernetes' small per-namespace controllers:

- ``serviceaccount`` (its serviceaccounts controller): every active
  namespace has a ServiceAccount ``default``, made again if deleted. Pods
  that name no service account run as it (the API server's ServiceAccount
  admission, ``shoal.apiserver.serviceaccounts``).
- ``root-ca-cert-publisher``: every active namespace has the ConfigMap
  ``kube-root-ca.crt`` holding the cluster CA as ``ca.crt``, put back if
  deleted or changed. The automounted ``kube-api-access`` volume reads it,
  so a program in a pod verifies the API server. It needs the CA: in
  ``shoal server`` the control plane is given it (option ``root_ca_pem``);
  without one (``--insecure``) this controller has nothing to publish.

Neither writes into a terminating namespace (the API server refuses).
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from shoal import errors, hookimpl, kinds
from shoal.controller import Controller
from shoal.registry import Registry

log = structlog.get_logger("serviceaccounts")

DEFAULT = "default"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"


def _active(namespace: Any | None) -> bool:
    return namespace is not None and not namespace.metadata.HasField("deletion_timestamp")


class ServiceAccountsController(Controller):
    name = "serviceaccount"
    workers = 2

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        super().__init__(client, workers=workers)
        self.namespaces = self.watch("Namespace")
        accounts = self.informer("ServiceAccount", field_selector=f"metadata.name={DEFAULT}")
        accounts.add_handler(None, None, lambda sa: self.queue.add(sa.metadata.namespace))
        self.accounts = accounts

    async def reconcile(self, key: Any) -> float | None:
        if not _active(self.namespaces.get(key)) or self.accounts.get(DEFAULT, key) is not None:
            return None
        sa = kinds.resolve("ServiceAccount").message()
        sa.metadata.name, sa.metadata.namespace = DEFAULT, key
        with contextlib.suppress(errors.AlreadyExistsError):
            await self.client.create(sa)
            log.info("created the default service account", namespace=key)
        return None


class RootCAPublisher(Controller):
    name = "root-ca-cert-publisher"
    workers = 2

    def __init__(self, client: Any, *, ca_pem: bytes | str = b"") -> None:
        super().__init__(client)
        self.ca = ca_pem.decode() if isinstance(ca_pem, bytes) else ca_pem
        self.namespaces = self.watch("Namespace")
        maps = self.informer("ConfigMap", field_selector=f"metadata.name={ROOT_CA_CONFIGMAP}")
        maps.add_handler(
            None,
            lambda _old, new: self.queue.add(new.metadata.namespace),
            lambda cm: self.queue.add(cm.metadata.namespace),
        )
        self.maps = maps

    async def reconcile(self, key: Any) -> float | None:
        if not self.ca or not _active(self.namespaces.get(key)):
            return None
        have = self.maps.get(ROOT_CA_CONFIGMAP, key)
        if have is not None and dict(have.data) == {"ca.crt": self.ca}:
            return None
        cm = kinds.resolve("ConfigMap").message()
        if have is not None:
            cm.CopyFrom(have)
            cm.data.clear()
        cm.metadata.name, cm.metadata.namespace = ROOT_CA_CONFIGMAP, key
        cm.data["ca.crt"] = self.ca
        with contextlib.suppress(errors.AlreadyExistsError):
            await (self.client.update(cm) if have is not None else self.client.create(cm))
        return None


def root_ca_factory(client: Any, options: dict[str, Any] | None = None) -> RootCAPublisher:
    return RootCAPublisher(client, ca_pem=(options or {}).get("root_ca_pem", b""))


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("serviceaccount", ServiceAccountsController)
    registry.register("root-ca-cert-publisher", root_ca_factory)
