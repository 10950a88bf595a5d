"""The fake runtime's modelled resource usage: deterministic, settable
numbers for hollow nodes, so ``kubectl top`` has something true to show.

A running container uses a constant CPU rate and memory, by default
``DEFAULT_CPU`` and ``DEFAULT_MEMORY``, or what pod annotations say (a
``.<container>`` suffix targets one container)::

    fake.shoal.io/usage-cpu: "250m"      # a quarter of a core
    fake.shoal.io/usage-memory: "64Mi"   # working set

Its cumulative CPU counter is that rate times how long it has run, counted
in whole microseconds (a millicore is a nanosecond of CPU per microseconds),
so the rate the metrics plugin computes from two samples is exactly the
rate set.
A hollow node uses what its containers use, no more.
"""

from __future__ import annotations

from typing import Protocol

from shoal import clock
from shoal.quantity import cpu_millis, to_bytes
from shoal.runtime import ContainerStatus, ResourceUsage

DEFAULT_CPU = "1m"
DEFAULT_MEMORY = "4Mi"


class Modelled(Protocol):
    status: ContainerStatus

    def behaviour(self, key: str) -> str | None: ...


def _micros(seconds: float) -> int:
    return int(seconds * 1_000_000)


def container_usage(container: Modelled, now: float | None = None) -> ResourceUsage:
    """What ``container`` has used up to ``now`` (CPU) and uses at ``now`` (memory)."""
    now_us = _micros(clock.time() if now is None else now)
    status = container.status
    running = status.state == "running"
    millis = cpu_millis(container.behaviour("usage-cpu") or DEFAULT_CPU)
    memory = to_bytes(container.behaviour("usage-memory") or DEFAULT_MEMORY)
    end_us = now_us if running else _micros(status.finished_at)
    ran_us = max(end_us - _micros(status.started_at), 0) if status.started_at else 0
    return ResourceUsage(now_us * 1000, millis * ran_us, memory * running)


def node_usage(
    containers: list[Modelled], retired_cpu: int, now: float | None = None
) -> ResourceUsage:
    """A hollow node's usage: the sum of its containers', with the CPU of
    removed containers (``retired_cpu``) kept so the node's counter never goes back."""
    now = clock.time() if now is None else now
    usages = [container_usage(c, now) for c in containers]
    cpu = retired_cpu + sum(u.cpu_usage_core_nanoseconds for u in usages)
    return ResourceUsage(_micros(now) * 1000, cpu, sum(u.memory_working_set_bytes for u in usages))
