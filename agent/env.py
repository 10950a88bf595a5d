"""A container's environment, as the kubelet computes it: the service
variables first, then ``envFrom``, then ``env`` (later wins), with
``$(VAR)`` references expanded against what came before."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from shoal import errors
from shoal.quantity import cpu_millis, to_bytes

# name -> the ConfigMap/Secret object, or None when it does not exist
Lookup = Callable[[str, str], Awaitable[Any | None]]
_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_LABEL = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class ContainerConfigError(Exception):
    """The container cannot be configured yet (``CreateContainerConfigError``)."""


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion; ``$$`` escapes, unknown refs stay."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _REF.sub(sub, text)


MASTER_NAMESPACE, MASTER_SERVICE = "default", "kubernetes"


def pod_services(
    services_of: Callable[[str], Iterable[Any]], namespace: str, links: bool
) -> list[Any]:
    """The Services whose variables a pod of ``namespace`` gets: those of its
    namespace (unless ``enableServiceLinks: false``), and always ``kubernetes``
    of ``default``, as the kubelet does for pods of every namespace (a
    ``kubernetes`` Service of the pod's own namespace goes first)."""
    own = list(services_of(namespace)) if links else []
    if any(s.metadata.name == MASTER_SERVICE for s in own):
        return own
    master = [
        s
        for s in services_of(MASTER_NAMESPACE)
        if s.metadata.name == MASTER_SERVICE and s.metadata.namespace == MASTER_NAMESPACE
    ]
    return [*master, *own]


def direct_master(services: list[Any], endpoints: Any | None) -> list[Any]:
    """Where ClusterIPs are not routed (the userspace proxy), the
    ``kubernetes`` Service as pods can reach it: its variables name the API
    server's advertised address and port (its Endpoints) instead of the
    ClusterIP. A loopback address is no use inside a container, so then the
    ClusterIP stays (docs/services.md: serve the gateway on an address
    containers reach)."""
    target = _endpoint(endpoints)
    if target is None:
        return services
    out = []
    for svc in services:
        if svc.metadata.name == MASTER_SERVICE and svc.metadata.namespace == MASTER_NAMESPACE:
            svc = type(svc).FromString(svc.SerializeToString())
            svc.spec.cluster_ip = target[0]
            for port in svc.spec.ports:
                port.port = target[1]
        out.append(svc)
    return out


def _endpoint(endpoints: Any | None) -> tuple[str, int] | None:
    if endpoints is None or not endpoints.subsets:
        return None
    subset = endpoints.subsets[0]
    if not subset.addresses or not subset.ports:
        return None
    ip = subset.addresses[0].ip
    if ip.startswith("127.") or ip == "::1":
        return None
    return ip, subset.ports[0].port


def service_env(services: Iterable[Any]) -> dict[str, str]:
    """``<NAME>_SERVICE_HOST``/``_PORT`` and the Docker-link variables."""
    env: dict[str, str] = {}
    for svc in sorted(services, key=lambda s: s.metadata.name):
        ip = svc.spec.cluster_ip
        if not ip or ip == "None" or not svc.spec.ports:
            continue
        name = svc.metadata.name.upper().replace("-", "_")
        first = svc.spec.ports[0]
        env[f"{name}_SERVICE_HOST"] = ip
        env[f"{name}_SERVICE_PORT"] = str(first.port)
        for port in svc.spec.ports:
            proto = (port.protocol or "TCP").lower()
            if port.name:
                env[f"{name}_SERVICE_PORT_{port.name.upper().replace('-', '_')}"] = str(port.port)
            base = f"{name}_PORT_{port.port}_{proto.upper()}"
            env[base] = f"{proto}://{ip}:{port.port}"
            env[f"{base}_PROTO"], env[f"{base}_PORT"], env[f"{base}_ADDR"] = (
                proto,
                str(port.port),
                ip,
            )
        env[f"{name}_PORT"] = f"{(first.protocol or 'TCP').lower()}://{ip}:{first.port}"
    return env


def field_ref(pod: Any, path: str, pod_ip: str, host_ip: str) -> str:
    simple = {
        "metadata.name": pod.metadata.name,
        "metadata.namespace": pod.metadata.namespace,
        "metadata.uid": pod.metadata.uid,
        "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name,
        "status.podIP": pod_ip,
        "status.hostIP": host_ip,
    }
    if path in simple:
        return simple[path]
    m = _LABEL.match(path)
    if m:
        source = pod.metadata.labels if m.group(1) == "labels" else pod.metadata.annotations
        return source.get(m.group(2), "")
    raise ContainerConfigError(f'unsupported fieldRef "{path}"')


def resource_ref(container: Any, resource: str, divisor: str) -> str:
    kind, _, name = resource.partition(".")
    table = container.resources.limits if kind == "limits" else container.resources.requests
    value = table.get(name, "")
    if not value:
        return "0"
    if name == "cpu":
        per = cpu_millis(divisor or "1")
        return str(math.ceil(cpu_millis(value) / per))
    return str(math.ceil(to_bytes(value) / to_bytes(divisor or "1")))


async def _key(lookup: Lookup, what: str, namespace: str, ref: Any, decode: bool) -> str | None:
    obj = await lookup(what, ref.name)
    optional = ref.HasField("optional") and ref.optional
    if obj is None:
        if optional:
            return None
        raise ContainerConfigError(f'{what.lower()} "{ref.name}" not found')
    value = obj.data.get(ref.key)
    if value is None and what == "ConfigMap":
        value = obj.binary_data.get(ref.key)
    if value is None:
        if optional:
            return None
        raise ContainerConfigError(f"couldn't find key {ref.key} in {what} {namespace}/{ref.name}")
    return value.decode(errors="replace") if isinstance(value, bytes) else value


async def _env_from(lookup: Lookup, source: Any, env: dict[str, str]) -> None:
    what, ref = (
        ("ConfigMap", source.config_map_ref)
        if source.HasField("config_map_ref")
        else ("Secret", source.secret_ref)
    )
    obj = await lookup(what, ref.name)
    if obj is None:
        if ref.HasField("optional") and ref.optional:
            return
        raise ContainerConfigError(f'{what.lower()} "{ref.name}" not found')
    items = dict(obj.data)
    for key, value in items.items():
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        env[source.prefix + key] = text


async def container_env(
    pod: Any,
    container: Any,
    lookup: Lookup,
    services: Iterable[Any],
    pod_ip: str,
    host_ip: str,
) -> dict[str, str]:
    """The whole environment of ``container``; ContainerConfigError when a
    referenced ConfigMap, Secret or key is missing."""
    enable_links = not pod.spec.HasField("enable_service_links") or pod.spec.enable_service_links
    env = service_env(services) if enable_links else {}
    for source in container.env_from:
        await _env_from(lookup, source, env)
    ns = pod.metadata.namespace
    for var in container.env:
        if not var.HasField("value_from"):
            env[var.name] = expand(var.value, env)
            continue
        src = var.value_from
        value: str | None
        if src.HasField("field_ref"):
            value = field_ref(pod, src.field_ref.field_path, pod_ip, host_ip)
        elif src.HasField("resource_field_ref"):
            ref = src.resource_field_ref
            value = resource_ref(container, ref.resource, ref.divisor)
        elif src.HasField("config_map_key_ref"):
            value = await _key(lookup, "ConfigMap", ns, src.config_map_key_ref, False)
        else:
            value = await _key(lookup, "Secret", ns, src.secret_key_ref, True)
        if value is not None:
            env[var.name] = value
    return env


def api_lookup(client: Any, namespace: str) -> Lookup:
    """A Lookup that reads ConfigMaps and Secrets through the API."""

    async def lookup(kind: str, name: str) -> Any | None:
        try:
            return await client.get(kind, name, namespace)
        except errors.NotFoundError:
            return None

    return lookup
