"""The ``coordination.k8s.io/v1`` kinds: Lease (leader election, node heartbeats)."""

from __future__ import annotations

from shoal import hookimpl
from shoal.api.v1 import coordination_pb2
from shoal.kinds import Kind
from shoal.plugins.kinds import columns
from shoal.plugins.kinds._register import kind, register_all
from shoal.registry import Registry
from shoal.strategy import Strategy


class LeaseStrategy(Strategy):
    table = columns.LEASE


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    register_all(
        registry,
        kind("Lease", "coordination.k8s.io/v1", coordination_pb2.Lease, strategy=LeaseStrategy()),
    )
