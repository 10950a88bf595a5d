"""Hollow nodes: a Node object and a Lease this test renews itself, standing
in for an agent."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from shoal import errors
from shoal.api.v1 import coordination_pb2, core_pb2
from shoal.client import Client

from tests.scheduler.builders import node

LEASE_NAMESPACE = "kube-node-lease"


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(time.time_ns())
    return stamp


class HollowNode:
    def __init__(self, client: Client, name: str, *, renew_every: float = 0.2, **node_args: Any):
        self.client, self.name, self.renew_every = client, name, renew_every
        self.node_args = node_args
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> HollowNode:
        with contextlib.suppress(errors.AlreadyExistsError):
            namespace = core_pb2.Namespace()
            namespace.metadata.name = LEASE_NAMESPACE
            await self.client.create(namespace)
        await self.client.create(node(self.name, **self.node_args))
        lease = coordination_pb2.Lease()
        lease.metadata.name, lease.metadata.namespace = self.name, LEASE_NAMESPACE
        lease.spec.holder_identity, lease.spec.lease_duration_seconds = self.name, 40
        lease.spec.renew_time.CopyFrom(_now())
        await self.client.create(lease)
        self.resume()
        return self

    def resume(self) -> None:
        self._task = asyncio.create_task(self._renew())

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            lease = await self.client.get("Lease", self.name, LEASE_NAMESPACE)
            lease.spec.renew_time.CopyFrom(_now())
            with contextlib.suppress(errors.ConflictError):
                await self.client.update(lease)

    async def die(self) -> None:
        """Stop renewing, as a node whose agent was killed."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def come_back(self) -> None:
        """Renew again and report Ready, as an agent that restarted."""
        self.resume()
        current = await self.client.get("Node", self.name)
        for condition in current.status.conditions:
            if condition.type == "Ready":
                condition.status, condition.reason = "True", "KubeletReady"
                condition.last_heartbeat_time.CopyFrom(_now())
        await self.client.update_status(current)
