"""Service accounts in the API server, as Kubernetes' ServiceAccount
admission plugin does it, plus the ``default`` account of a new namespace.

On every pod create:

- a pod without ``serviceAccountName`` gets ``default`` (the deprecated
  ``serviceAccount`` field, when it alone is set, names it instead);
- the service account must exist, else the pod is refused: 403 Forbidden,
  ``error looking up service account ns/x: serviceaccount "x" not found``;
- unless ``automountServiceAccountToken: false`` on the pod (or, when the
  pod does not say, on the service account), the pod gets the projected
  volume ``kube-api-access-xxxxx`` (a token of the account, bound to the
  pod, the cluster CA from the ``kube-root-ca.crt`` ConfigMap, the
  namespace) mounted read-only in every container at
  ``/var/run/secrets/kubernetes.io/serviceaccount``. Only a server that
  signs tokens mounts them (an ``--insecure`` server authenticates nobody).

Kubernetes' serviceaccounts controller makes ``default`` in each namespace
and its root-ca-cert-publisher the ConfigMap ``kube-root-ca.crt``
(``shoal.plugins.controllers.serviceaccounts`` here keeps both); the
registry also makes them with the namespace, so a pod created right after
its namespace is neither refused nor left waiting for its CA file while
those controllers catch up (or where none runs, as in tests).
"""

from __future__ import annotations

import contextlib
from typing import Any

from shoal import errors, kinds
from shoal.apiserver import meta

DEFAULT_SERVICE_ACCOUNT = "default"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
# Kubernetes' kube-api-access token lives an hour and 7 s (3607 s): the odd
# seconds mark it as the automounted one.
TOKEN_EXPIRATION_SECONDS = 3607
DEFAULT_MODE = 0o644


def default_service_account(namespace: str) -> Any:
    sa = kinds.resolve("ServiceAccount").message()
    sa.metadata.name, sa.metadata.namespace = DEFAULT_SERVICE_ACCOUNT, namespace
    return sa


def root_ca_configmap(namespace: str, ca_pem: str) -> Any:
    cm = kinds.resolve("ConfigMap").message()
    cm.metadata.name, cm.metadata.namespace = ROOT_CA_CONFIGMAP, namespace
    cm.data["ca.crt"] = ca_pem
    return cm


class ServiceAccountAdmission:
    """``admit_pod`` runs on pod creates; ``registry`` reads the accounts."""

    def __init__(self, registry: Any, mount_tokens: bool = False, root_ca_pem: bytes = b"") -> None:
        self.registry = registry
        self.mount_tokens = mount_tokens
        self.root_ca = root_ca_pem.decode()

    async def admit_pod(self, pod: Any) -> None:
        spec = pod.spec
        name = spec.service_account_name or spec.service_account or DEFAULT_SERVICE_ACCOUNT
        spec.service_account_name = spec.service_account = name
        sa = await self._service_account(pod, name)
        if self.mount_tokens and _automount(pod, sa):
            mount_token(pod)

    async def _service_account(self, pod: Any, name: str) -> Any:
        ns = pod.metadata.namespace
        try:
            return await self.registry.get(kinds.resolve("ServiceAccount"), ns, name)
        except errors.NotFoundError:
            raise errors.ForbiddenError(
                f'pods "{pod.metadata.name}" is forbidden: error looking up service '
                f'account {ns}/{name}: serviceaccount "{name}" not found',
                name=pod.metadata.name,
                kind="pods",
            ) from None

    async def namespace_created(self, namespace: str) -> None:
        with contextlib.suppress(errors.AlreadyExistsError):
            await self.registry.create(default_service_account(namespace))
        if self.root_ca:
            with contextlib.suppress(errors.AlreadyExistsError):
                await self.registry.create(root_ca_configmap(namespace, self.root_ca))


def _automount(pod: Any, sa: Any) -> bool:
    if pod.spec.HasField("automount_service_account_token"):
        return bool(pod.spec.automount_service_account_token)
    if sa.HasField("automount_service_account_token"):
        return bool(sa.automount_service_account_token)
    return True


def token_volume(name: str) -> Any:
    """Kubernetes' ``kube-api-access-xxxxx`` projected volume."""
    volume = kinds.resolve("Pod").message().spec.volumes.add()
    volume.name = name
    projected = volume.projected
    projected.default_mode = DEFAULT_MODE
    token = projected.sources.add().service_account_token
    token.expiration_seconds, token.path = TOKEN_EXPIRATION_SECONDS, "token"
    ca = projected.sources.add().config_map
    ca.name = ROOT_CA_CONFIGMAP
    ca.items.add(key="ca.crt", path="ca.crt")
    namespace = projected.sources.add().downward_api.items.add(path="namespace")
    namespace.field_ref.api_version, namespace.field_ref.field_path = "v1", "metadata.namespace"
    return volume


def mount_token(pod: Any) -> None:
    """Add the volume, and mount it read-only in every container that does
    not mount something else at the token's path already."""
    spec = pod.spec
    if any(v.name.startswith(VOLUME_PREFIX) for v in spec.volumes):
        return
    name = meta.generated_name(VOLUME_PREFIX)
    spec.volumes.append(token_volume(name))
    for container in [*spec.init_containers, *spec.containers]:
        if any(m.mount_path == MOUNT_PATH for m in container.volume_mounts):
            continue
        container.volume_mounts.add(name=name, read_only=True, mount_path=MOUNT_PATH)
