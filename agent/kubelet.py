"""One node's agent: its runtime, its Node and Lease, and its pods."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shoal.agent.backoff import BackOff
from shoal.agent.events import recorder
from shoal.agent.lifecycle import NodeContext
from shoal.agent.node import NodeFacts, NodeRegistration, heartbeat, node_info, renew_lease
from shoal.agent.podsync import PodManager
from shoal.agent.tokens import TokenManager, grpc_request
from shoal.runtime import Runtime


@dataclass
class Timing:
    """How often the agent does things; tests shorten them."""

    lease_interval: float = 10.0
    status_interval: float = 60.0
    resync: float = 10.0
    relist_interval: float = 1.0
    retry: float = 1.0
    backoff_initial: float = 10.0
    backoff_max: float = 300.0


class NodeAgent:
    """Runs one node; ``pod(namespace, name)`` answers the stream server."""

    def __init__(
        self,
        client: Any,
        runtime: Runtime,
        facts: NodeFacts,
        data_dir: Path,
        timing: Timing,
        pods: Any,  # the Informer holding this node's pods
        services: Any,  # the Service Informer
        cluster_ips_routed: bool = True,
        dns: Any = None,  # nodedns.PodDNS
    ) -> None:
        self.client, self.runtime, self.facts = client, runtime, facts
        self.data_dir, self.timing, self._pods = data_dir, timing, pods
        self.name = facts.name
        self.registration: NodeRegistration | None = None
        ctx = NodeContext(
            client=client,
            runtime=runtime,
            runtime_name=getattr(runtime, "name", "runtime"),
            node=facts.name,
            host_ip=facts.address,
            data_dir=data_dir,
            recorder=recorder(client, facts.name),
            backoff=BackOff(timing.backoff_initial, timing.backoff_max),
            services=lambda ns: services.by_index("namespace", ns),
            tokens=TokenManager(grpc_request(client)),
            cluster_ips_routed=cluster_ips_routed,
            dns=dns,
            resync=timing.resync,
            retry=timing.retry,
        )
        self.pods = PodManager(ctx, timing.relist_interval)
        self._heartbeat: asyncio.Task[None] | None = None

    def pod(self, namespace: str, name: str) -> Any | None:
        pod = self._pods.get(name, namespace)
        return pod if pod is not None and pod.spec.node_name == self.name else None

    async def register(self) -> None:
        version = await self.runtime.version()
        self.facts.runtime_version = f"{self.runtime.name}://{version}"
        self.registration = NodeRegistration(
            self.client, self.facts, node_info(self.facts.runtime_version)
        )
        await self.registration.register()
        await renew_lease(self.client, self.name, 40)

    def start(self) -> None:
        """Heartbeats and the runtime relist; pods arrive from the informer."""
        assert self.registration is not None, "register() first"
        self._heartbeat = asyncio.create_task(self._beat(), name=f"heartbeat-{self.name}")
        self.pods.start()

    async def _beat(self) -> None:
        # Spread the renewals of many nodes over the interval.
        await asyncio.sleep(random.random() * self.timing.lease_interval)
        assert self.registration is not None
        await heartbeat(
            self.registration,
            lease_interval=self.timing.lease_interval,
            status_interval=self.timing.status_interval,
        )

    async def stop(self) -> None:
        """Stop managing (the pods keep running in the runtime)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await self.pods.stop()
