"""Leader election through a ``coordination.k8s.io/v1`` Lease, like
client-go's ``leaderelection`` package.

Several copies of a component (scheduler, controller manager) run; one holds
the Lease and works, the others stand by. The rules:

* a candidate takes the Lease when nobody holds it, or when the holder has
  not renewed it for ``lease_duration`` as *this candidate observed it* (its
  own monotonic clock, so clock skew between machines cannot cut a lease
  short);
* the leader renews every ``retry_period``; if it cannot renew within
  ``renew_deadline`` it stops leading (its work is cancelled) before anyone
  else may take over, since ``renew_deadline < lease_duration``;
* every write carries the ``resourceVersion`` it read, so two candidates
  racing for a free Lease cannot both win: the second gets a conflict;
* a leader that stops cleanly releases the Lease so a standby need not wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from google.protobuf.timestamp_pb2 import Timestamp
from shoal import clock, errors
from shoal.api.v1 import coordination_pb2

log = structlog.get_logger("leaderelection")

LEASE_NAMESPACE = "shoal-system"


def default_identity() -> str:
    """``hostname_<random>``: unique per process, readable by people."""
    return f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@dataclass
class LeaderElectionConfig:
    name: str
    namespace: str = LEASE_NAMESPACE
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError(
                "leader election needs 0 < retry_period < renew_deadline < lease_duration, got "
                f"{self.retry_period}, {self.renew_deadline}, {self.lease_duration}"
            )


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(clock.time_ns() // 1000 * 1000)
    return stamp


class LeaderElector:
    """``await LeaderElector(client, config).run(work)``: wait to lead, run
    ``work()`` while leading, return when leadership is lost (``work`` then
    cancelled) or when ``work`` returns."""

    def __init__(self, client: Any, config: LeaderElectionConfig) -> None:
        self.client = client
        self.config = config
        self._observed: tuple[str, str] | None = None  # (holder, renewTime) last seen
        self._observed_at = 0.0
        self._leading = False

    @property
    def is_leader(self) -> bool:
        return self._leading

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        await self._acquire()
        self._leading = True
        log.info("became leader", lease=self.config.name, identity=self.config.identity)
        task = asyncio.ensure_future(work())
        renewing = asyncio.ensure_future(self._renew_loop())
        try:
            await asyncio.wait({task, renewing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._leading = False
            for running in (task, renewing):
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await running
            await asyncio.shield(self._release())
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]

    async def _acquire(self) -> None:
        while not await self.try_acquire_or_renew():
            await asyncio.sleep(self.config.retry_period)

    async def _renew_loop(self) -> None:
        """Returns when the Lease could not be renewed within the deadline."""
        cfg = self.config
        while True:
            await asyncio.sleep(cfg.retry_period)
            deadline = clock.monotonic() + cfg.renew_deadline
            while not await self.try_acquire_or_renew():
                if clock.monotonic() >= deadline:
                    log.warning("failed to renew lease; stepping down", lease=cfg.name)
                    return
                await asyncio.sleep(min(cfg.retry_period, max(deadline - clock.monotonic(), 0)))

    async def try_acquire_or_renew(self) -> bool:
        """One attempt; True if this candidate holds the Lease afterwards."""
        cfg = self.config
        try:
            lease = await self.client.get("Lease", cfg.name, cfg.namespace)
        except errors.NotFoundError:
            return await self._create()
        except (errors.APIError, OSError) as err:
            log.warning("cannot read lease", lease=cfg.name, error=str(err))
            return False
        self._observe(lease)
        holder = lease.spec.holder_identity
        if holder and holder != cfg.identity and not self._expired():
            return False
        return await self._claim(lease, holder)

    def _observe(self, lease: Any) -> None:
        record = (lease.spec.holder_identity, lease.spec.renew_time.ToJsonString())
        if record != self._observed:
            self._observed, self._observed_at = record, clock.monotonic()

    def _expired(self) -> bool:
        return clock.monotonic() > self._observed_at + self.config.lease_duration

    async def _claim(self, lease: Any, holder: str) -> bool:
        spec, now = lease.spec, _now()
        if holder != self.config.identity:
            spec.acquire_time.CopyFrom(now)
            spec.lease_transitions = (
                spec.lease_transitions + 1 if holder else (spec.lease_transitions)
            )
        spec.holder_identity = self.config.identity
        spec.lease_duration_seconds = max(round(self.config.lease_duration), 1)
        spec.renew_time.CopyFrom(now)
        try:
            updated = await self.client.update(lease)  # carries the resourceVersion we read
        except (errors.APIError, OSError) as err:
            log.debug("lease update refused", lease=self.config.name, error=str(err))
            return False
        self._observe(updated)
        return True

    async def _create(self) -> bool:
        cfg, now = self.config, _now()
        lease = coordination_pb2.Lease()
        lease.metadata.name, lease.metadata.namespace = cfg.name, cfg.namespace
        lease.spec.holder_identity = cfg.identity
        lease.spec.lease_duration_seconds = max(round(cfg.lease_duration), 1)
        lease.spec.acquire_time.CopyFrom(now)
        lease.spec.renew_time.CopyFrom(now)
        lease.spec.lease_transitions = 0
        try:
            created = await self.client.create(lease)
        except (errors.APIError, OSError) as err:
            log.debug("lease create refused", lease=cfg.name, error=str(err))
            return False
        self._observe(created)
        return True

    async def _release(self) -> None:
        """Give the Lease up so a standby takes over at once (best effort)."""
        cfg = self.config
        try:
            lease = await self.client.get("Lease", cfg.name, cfg.namespace)
            if lease.spec.holder_identity != cfg.identity:
                return
            lease.spec.ClearField("holder_identity")
            lease.spec.lease_duration_seconds = 1
            lease.spec.renew_time.CopyFrom(_now())
            await self.client.update(lease)
            log.info("released lease", lease=cfg.name, identity=cfg.identity)
        except Exception as err:  # the server may already be gone on shutdown
            log.debug("could not release lease", lease=cfg.name, error=str(err))


def lease_is_held(lease: Any, now: float | None = None) -> bool:
    """Whether ``lease`` has a holder whose renewal is recent enough by the
    wall clock (what ``get componentstatuses`` reports as healthy)."""
    spec = lease.spec
    if not spec.holder_identity or not spec.HasField("renew_time"):
        return False
    renewed = spec.renew_time.ToNanoseconds() / 1e9
    duration = spec.lease_duration_seconds or 15
    return renewed + duration >= (clock.time() if now is None else now)
