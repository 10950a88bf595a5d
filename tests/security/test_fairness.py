"""Per-user fairness: one user's flood is refused with 429 /
RESOURCE_EXHAUSTED and a retry hint, while another user's requests are all
served, and the control plane (system:masters) is never held back."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from shoal import auth, errors
from shoal.apiserver.fairness import FairQueues, RequestLimits

from tests.integration.helpers import eventually
from tests.security.boundary import CONFIGMAPS, TEST_LIMITS, Boundary

FLOOD = 60


class Held:
    """The flooder's lists wait (holding their seats) until ``gate`` is set:
    a flood of slow requests, without timing anything."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.waiting = 0


@pytest.fixture
def held(boundary: Boundary, monkeypatch: pytest.MonkeyPatch) -> Held:
    hold = Held()
    registry = boundary.server.registry
    plain = registry.list

    async def list_(*args: Any, **kwargs: Any) -> Any:
        user = auth.current_user()
        if user is not None and user.name == "flooder":
            hold.waiting += 1
            await hold.gate.wait()
        return await plain(*args, **kwargs)

    monkeypatch.setattr(registry, "list", list_)
    return hold


async def test_a_users_seats_queue_and_refusal() -> None:
    queues = FairQueues(
        RequestLimits(max_inflight_per_user=1, queue_length_per_user=1, queue_wait_seconds=30)
    )
    alice, bob = auth.UserInfo("alice"), auth.UserInfo("bob")
    admin = auth.UserInfo("root", (auth.ADMIN_GROUP,))
    release = asyncio.Event()
    seated: list[str] = []

    async def request(user: auth.UserInfo, tag: str) -> None:
        async with queues.seat(user):
            seated.append(tag)
            await release.wait()

    first = asyncio.create_task(request(alice, "a1"))
    queued = asyncio.create_task(request(alice, "a2"))
    await asyncio.sleep(0)  # let both reach their seat (or queue)
    with pytest.raises(errors.TooManyRequestsError) as err:
        await request(alice, "a3")  # one seat, one queued: the third is refused at once
    assert err.value.retry_after_seconds >= 1 and 'user "alice"' in err.value.message
    others = [asyncio.create_task(request(u, t)) for u, t in [(bob, "b1"), (admin, "r1"),
                                                               (admin, "r2")]]  # fmt: skip
    await asyncio.sleep(0)
    assert sorted(seated) == ["a1", "b1", "r1", "r2"]  # a2 waits for alice's seat only
    release.set()
    await asyncio.gather(first, queued, *others)
    assert seated[-1] == "a2" and queues.rejected == 1


async def test_a_queued_request_gives_up_after_the_wait() -> None:
    queues = FairQueues(
        RequestLimits(max_inflight_per_user=1, queue_length_per_user=5, queue_wait_seconds=0.01)
    )
    alice, held = auth.UserInfo("alice"), asyncio.Event()

    async def hold() -> None:
        async with queues.seat(alice):
            await held.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    with pytest.raises(errors.TooManyRequestsError):
        async with queues.seat(alice):
            pass
    held.set()
    await holder
    async with queues.seat(alice):  # the seat is free again
        pass


async def _flood(hold: Held, flood: list[Any], served: list[Any]) -> list[Any]:
    """The flood, and while it holds all of the flooder's seats the other
    user's requests one after another (within that user's own share); the
    flood's held requests go once the other user has been served."""
    flooding = asyncio.gather(*flood, return_exceptions=True)
    await eventually(lambda: hold.waiting >= TEST_LIMITS.max_inflight_per_user)
    answers = []
    for request in served:
        try:
            answers.append(await request)
        except Exception as err:
            answers.append(err)
    hold.gate.set()
    return [*(await flooding), *answers]


async def test_a_rest_flood_gets_429_while_another_user_is_served(
    boundary: Boundary, held: Held
) -> None:
    flood = [boundary.rest("flooder", "GET", CONFIGMAPS) for _ in range(FLOOD)]
    victim = [boundary.rest("victim", "GET", CONFIGMAPS) for _ in range(5)]
    answers = await _flood(held, flood, victim)
    refused = [a for a in answers[:FLOOD] if a.code == 429]
    assert refused, [a.code for a in answers[:FLOOD]]
    assert {a.code for a in answers[:FLOOD]} <= {200, 429}
    assert refused[0].body["reason"] == "TooManyRequests"
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert refused[0].body["details"]["retryAfterSeconds"] >= 1
    assert [a.code for a in answers[FLOOD:]] == [200] * 5


async def test_a_grpc_flood_is_exhausted_while_another_user_is_served(
    boundary: Boundary, held: Held
) -> None:
    flooder, victim = boundary.clients["flooder"], boundary.clients["victim"]
    flood = [flooder.list("configmaps", "default") for _ in range(FLOOD)]
    served = [victim.list("configmaps", "default") for _ in range(5)]
    answers = await _flood(held, flood, served)
    refused = [a for a in answers[:FLOOD] if isinstance(a, Exception)]
    assert refused and all(isinstance(a, errors.TooManyRequestsError) for a in refused), refused
    assert refused[0].code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused[0].retry_after_seconds >= 1
    assert not any(isinstance(a, Exception) for a in answers[FLOOD:])
    # the admin (and the control plane, in system:masters) is exempt
    admin = [boundary.admin.list("configmaps", "default") for _ in range(FLOOD)]
    assert not any(isinstance(a, Exception) for a in await asyncio.gather(*admin))
