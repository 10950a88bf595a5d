"""What a container of a pod is started with, from the node's view: its
volumes made (the service-account token among them), the Services whose
variables it gets, its config; and the token files rewritten while the pod
runs, once a token is past 80% of its life."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shoal import errors
from shoal.agent.containers import container_config
from shoal.agent.env import (
    MASTER_NAMESPACE,
    MASTER_SERVICE,
    ContainerConfigError,
    api_lookup,
    direct_master,
    pod_services,
)
from shoal.agent.events import WARNING
from shoal.agent.volumes import prepare_volumes

if TYPE_CHECKING:
    from shoal.agent.lifecycle import NodeContext


async def pod_container_config(
    ctx: NodeContext, pod: Any, spec: Any, attempt: int, pod_ip: str
) -> Any:
    """ContainerConfigError when an env source, volume or token is missing."""
    lookup = api_lookup(ctx.client, pod.metadata.namespace)
    volumes = {}
    if pod.spec.volumes:
        volumes = await prepare_volumes(pod, ctx.data_dir, lookup, ctx.tokens)
    links = not pod.spec.HasField("enable_service_links") or pod.spec.enable_service_links
    return await container_config(
        pod,
        spec,
        node=ctx.node,
        attempt=attempt,
        lookup=lookup,
        services=await _services(ctx, pod, links),
        volumes=volumes,
        pod_ip=pod_ip,
        host_ip=ctx.host_ip,
    )


async def _services(ctx: NodeContext, pod: Any, links: bool) -> list[Any]:
    services = pod_services(ctx.services, pod.metadata.namespace, links)
    if ctx.cluster_ips_routed or not any(
        s.metadata.name == MASTER_SERVICE and s.metadata.namespace == MASTER_NAMESPACE
        for s in services
    ):
        return services
    try:
        endpoints = await ctx.client.get("Endpoints", MASTER_SERVICE, MASTER_NAMESPACE)
    except errors.APIError:
        endpoints = None
    return direct_master(services, endpoints)


async def refresh_tokens(
    ctx: NodeContext, pod: Any, event: Callable[[str, str, str], None]
) -> None:
    """Rewrite the volumes once a token is past 80% of its life (the files
    change under the running containers, as the kubelet's do)."""
    tokens = ctx.tokens
    if tokens is None or not tokens.due(pod.metadata.uid):
        return
    lookup = api_lookup(ctx.client, pod.metadata.namespace)
    try:
        await prepare_volumes(pod, ctx.data_dir, lookup, tokens)
    except ContainerConfigError as err:
        event(WARNING, "FailedMount", f"MountVolume.SetUp failed: {err}")
