"""Leader election through a Lease, against the in-process API server."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from shoal.client import Client
from shoal.client.client import unpack
from shoal.leaderelection import LeaderElectionConfig, LeaderElector, lease_is_held

from tests.integration.helpers import eventually

FAST = {"lease_duration": 1.0, "renew_deadline": 0.6, "retry_period": 0.1}


def elector(client: Client, identity: str, name: str = "test-lease") -> LeaderElector:
    return LeaderElector(client, LeaderElectionConfig(name=name, identity=identity, **FAST))


async def lead_forever(log: list[str], identity: str) -> None:
    log.append(identity)
    await asyncio.Event().wait()


def die_without_releasing(e: LeaderElector) -> None:
    """What kill -9 does: nobody gives the Lease back."""

    async def nothing() -> None:
        return None

    e._release = nothing  # type: ignore[method-assign]


async def test_one_leader_and_a_standby_takes_over_once_the_lease_ran_out(
    shoal_client: Client,
) -> None:
    """The standby takes over, and not before the dead leader's lease ran
    out: read from the Lease's own times, not the test's clock (how soon is
    a benchmark's question, not a test's)."""
    leaders: list[str] = []
    first, second = elector(shoal_client, "first"), elector(shoal_client, "second")
    one = asyncio.create_task(first.run(lambda: lead_forever(leaders, "first")))
    await eventually(lambda: leaders == ["first"])
    two = asyncio.create_task(second.run(lambda: lead_forever(leaders, "second")))
    # The standby keeps trying for several retry periods and never wins.
    for _ in range(5):
        await asyncio.sleep(FAST["retry_period"])
        assert leaders == ["first"] and not second.is_leader

    die_without_releasing(first)
    one.cancel()
    await eventually(lambda: leaders == ["first", "second"], timeout=30)
    history = await shoal_client.history("Lease", "test-lease", "shoal-system")
    held = [
        (lease.spec.holder_identity, lease.spec)
        for lease in map(unpack, (e.object for e in history))
    ]
    renewed = [spec.renew_time.ToNanoseconds() for who, spec in held if who == "first"][-1]
    taken = next(spec.acquire_time.ToNanoseconds() for who, spec in held if who == "second")
    assert taken - renewed >= FAST["lease_duration"] * 1e9, (taken - renewed) / 1e9
    lease = await shoal_client.get("Lease", "test-lease", "shoal-system")
    assert lease.spec.holder_identity == "second"
    assert lease.spec.lease_transitions == 1
    assert lease.spec.lease_duration_seconds == 1
    assert lease_is_held(lease)
    two.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await two


async def test_a_leader_that_stops_cleanly_hands_over_at_once(shoal_client: Client) -> None:
    leaders: list[str] = []
    first = elector(shoal_client, "first")
    # A long lease: only a release lets the standby in quickly.
    first.config.lease_duration, first.config.renew_deadline = 30.0, 20.0
    second = LeaderElector(
        shoal_client,
        LeaderElectionConfig(
            name="test-lease",
            identity="second",
            lease_duration=30.0,
            renew_deadline=20.0,
            retry_period=0.1,
        ),
    )
    one = asyncio.create_task(first.run(lambda: lead_forever(leaders, "first")))
    await eventually(lambda: leaders == ["first"])
    two = asyncio.create_task(second.run(lambda: lead_forever(leaders, "second")))
    one.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await one
    # half the 30 s lease: only a release lets the standby in this soon
    await eventually(lambda: leaders == ["first", "second"], timeout=15.0)
    two.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await two


async def test_candidates_racing_for_a_free_lease_never_both_win(shoal_client: Client) -> None:
    for round_ in range(5):
        name = f"race-{round_}"
        candidates = [elector(shoal_client, f"c{i}", name) for i in range(8)]
        results = await asyncio.gather(*(c.try_acquire_or_renew() for c in candidates))
        assert sum(results) == 1
        lease = await shoal_client.get("Lease", name, "shoal-system")
        winner = [c.config.identity for c, won in zip(candidates, results, strict=True) if won]
        assert lease.spec.holder_identity == winner[0]


async def test_a_leader_that_cannot_renew_stops_its_work(shoal_client: Client) -> None:
    stopped = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    e = elector(shoal_client, "lonely")
    task = asyncio.create_task(e.run(work))
    await eventually(lambda: e.is_leader)

    async def refuse() -> bool:
        return False

    e.try_acquire_or_renew = refuse  # type: ignore[method-assign]
    await asyncio.wait_for(stopped.wait(), FAST["renew_deadline"] + 1.0)
    await asyncio.wait_for(task, 1.0)
    assert not e.is_leader


def test_config_checks_its_timings() -> None:
    with pytest.raises(ValueError, match="retry_period < renew_deadline < lease_duration"):
        LeaderElectionConfig(name="x", lease_duration=5, renew_deadline=10, retry_period=1)
