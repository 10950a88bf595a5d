"""The files of ``projected`` and ``downwardAPI`` volumes: Secrets,
ConfigMaps, pod fields and the pod's service-account token, merged into one
directory (what the automounted ``kube-api-access-xxxxx`` volume is)."""

from __future__ import annotations

from typing import Any, Protocol

from shoal.agent.env import ContainerConfigError, Lookup, field_ref, resource_ref


class Tokens(Protocol):
    async def token(self, pod: Any, seconds: int) -> str: ...


def downward_files(pod: Any, items: Any) -> dict[str, bytes]:
    files = {}
    for item in items:
        if item.HasField("field_ref"):
            value = field_ref(pod, item.field_ref.field_path, pod.status.pod_ip, pod.status.host_ip)
        else:
            ref = item.resource_field_ref
            container = next((c for c in pod.spec.containers if c.name == ref.container_name), None)
            if container is None:
                raise ContainerConfigError(f'container "{ref.container_name}" not found')
            value = resource_ref(container, ref.resource, ref.divisor)
        files[item.path] = value.encode()
    return files


async def _object(lookup: Lookup, what: str, source: Any) -> dict[str, bytes]:
    obj = await lookup(what, source.name)
    if obj is None:
        if source.HasField("optional") and source.optional:
            return {}
        raise ContainerConfigError(f'{what.lower()} "{source.name}" not found')
    data = {k: v if isinstance(v, bytes) else v.encode() for k, v in obj.data.items()}
    if what == "ConfigMap":
        data.update({k: bytes(v) for k, v in obj.binary_data.items()})
    if not source.items:
        return data
    files = {}
    for item in source.items:
        if item.key not in data:
            if source.HasField("optional") and source.optional:
                continue
            raise ContainerConfigError(f'couldn\'t find key {item.key} in {what} "{source.name}"')
        files[item.path] = data[item.key]
    return files


async def projected_files(
    pod: Any, projected: Any, lookup: Lookup, tokens: Tokens | None
) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for source in projected.sources:
        if source.HasField("secret"):
            files.update(await _object(lookup, "Secret", source.secret))
        elif source.HasField("config_map"):
            files.update(await _object(lookup, "ConfigMap", source.config_map))
        elif source.HasField("downward_api"):
            files.update(downward_files(pod, source.downward_api.items))
        elif source.HasField("service_account_token"):
            if tokens is None:
                raise ContainerConfigError("this node cannot get service-account tokens")
            token = source.service_account_token
            seconds = token.expiration_seconds if token.HasField("expiration_seconds") else 3600
            files[token.path] = (await tokens.token(pod, int(seconds))).encode()
    return files
