"""PodDisruptionBudgets and evictions on hollow nodes: the disruption
controller keeps a budget's status, an eviction the budget allows deletes
its pod, one it does not allow is refused with 429 and deletes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from shoal import errors
from shoal.agent.testing import Cluster
from shoal.api.v1 import policy_pb2
from shoal.client import Client

from tests.integration.helpers import obj


def budget(name: str, selector: dict[str, str], **spec: Any) -> Any:
    return obj({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": selector}, **spec},
    })  # fmt: skip


def replication_controller(app: str, replicas: int) -> Any:
    """``replicas`` busybox pods labelled ``app=APP``."""
    return obj({
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": app},
        "spec": {
            "replicas": replicas,
            "selector": {"app": app},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": app, "image": "busybox"}]},
            },
        },
    })  # fmt: skip


def eviction(name: str) -> Any:
    ev = policy_pb2.Eviction()
    ev.metadata.name, ev.metadata.namespace = name, "default"
    return ev


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.1)


async def ready_pods(client: Client, app: str) -> list[Any]:
    listed = await client.list("pods", label_selector=f"app={app}")
    return [
        p
        for p in listed.items
        if not p.metadata.HasField("deletion_timestamp")
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions)
    ]


async def test_eviction_honours_the_budget(shoal_cluster: Cluster) -> None:
    client = shoal_cluster.client
    await client.create(replication_controller("web", 3))
    await client.create(budget("web", {"app": "web"}, minAvailable=2))

    async def allows_one() -> Any:
        pdb = await client.get("pdb", "web")
        s = pdb.status
        counts = (s.disruptions_allowed, s.current_healthy, s.expected_pods)
        return pdb if counts == (1, 3, 3) else None

    pdb = await eventually(allows_one)
    assert pdb.status.desired_healthy == 2
    assert [(c.type, c.status) for c in pdb.status.conditions] == [("DisruptionAllowed", "True")]
    first, second, _ = sorted(await ready_pods(client, "web"), key=lambda p: p.metadata.name)

    await client.create(eviction(first.metadata.name))
    gone = await client.get("pods", first.metadata.name)
    assert gone.metadata.HasField("deletion_timestamp")

    with pytest.raises(errors.TooManyRequestsError) as refused:
        await client.create(eviction(second.metadata.name))
    assert str(refused.value) == (
        "Cannot evict pod as it would violate the pod's disruption budget."
    )
    still = await client.get("pods", second.metadata.name)
    assert not still.metadata.HasField("deletion_timestamp")

    # The controller replaces the evicted pod; the budget allows one again.
    await eventually(allows_one)
    await client.create(eviction(second.metadata.name))


async def test_pods_no_budget_covers_are_evicted(shoal_cluster: Cluster) -> None:
    client = shoal_cluster.client
    await client.create(budget("other", {"app": "other"}, maxUnavailable=0))
    created = await client.create(obj({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "free", "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }))  # fmt: skip
    await client.create(eviction(created.metadata.name))
    with pytest.raises(errors.NotFoundError):
        await client.create(eviction("missing"))


async def test_budget_validation(shoal_client: Client) -> None:
    with pytest.raises(errors.InvalidError, match="cannot be both set"):
        await shoal_client.create(budget("both", {"a": "b"}, minAvailable=1, maxUnavailable=1))
    with pytest.raises(errors.InvalidError, match=r"spec\.minAvailable: Invalid value"):
        await shoal_client.create(budget("pct", {"a": "b"}, minAvailable="150%"))
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("pdb", "both")


async def test_concurrent_evictions_are_allowed_or_refused_never_conflict(
    shoal_cluster: Cluster,
) -> None:
    """Evictions of several pods at once (a drain) take from one budget; the
    loser of a write race reads the budget again: it is allowed or gets 429,
    never 409 Conflict (which kubectl drain and ``shoal drain`` do not retry)."""
    client = shoal_cluster.client
    await client.create(replication_controller("burst", 4))
    await client.create(budget("burst", {"app": "burst"}, maxUnavailable=2))

    async def allows_two() -> Any:
        s = (await client.get("pdb", "burst")).status
        return (s.disruptions_allowed, s.current_healthy) == (2, 4)

    await eventually(allows_two)
    pods = await ready_pods(client, "burst")
    answers = await asyncio.gather(
        *(client.create(eviction(p.metadata.name)) for p in pods[:3]), return_exceptions=True
    )
    refused = [a for a in answers if isinstance(a, BaseException)]
    assert [type(a) for a in refused] == [errors.TooManyRequestsError], answers
    assert len(answers) - len(refused) == 2


class _CountingGets:
    """A client that counts its GETs (and otherwise is the client)."""

    def __init__(self, client: Client) -> None:
        self.client, self.gets = client, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        self.gets += 1
        return await self.client.get(*args, **kwargs)


async def _owned_ready_pods(client: Client, owner: Any, app: str, count: int) -> None:
    from tests.controllers.helpers import mark_ready

    for i in range(count):
        pod = obj({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{app}-{i}", "labels": {"app": app}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        })  # fmt: skip
        ref = pod.metadata.owner_references.add(
            api_version="apps/v1", kind=owner.kind, name=owner.metadata.name,
            uid=owner.metadata.uid, controller=True,
        )  # fmt: skip
        assert ref.controller
        await client.update_status(mark_ready(await client.create(pod)))


async def test_the_controllers_scale_is_read_from_the_informers(shoal_client: Client) -> None:
    """As Kubernetes' listers: the expected pods come from the cached
    ReplicaSet (its 4 replicas, 3 pods so far), not a GET per reconcile;
    a controller recreated under the same name (another uid) is not the
    pods' controller, and their own count stands."""
    from shoal.plugins.controllers.disruption import DisruptionController

    from tests.controllers.helpers import running

    client = shoal_client
    rs = await client.create(obj({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "cached"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "cached"}},
                 "template": {"metadata": {"labels": {"app": "cached"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
    }))  # fmt: skip
    await _owned_ready_pods(client, rs, "cached", 3)
    await client.create(budget("cached", {"app": "cached"}, maxUnavailable=1))
    counting = _CountingGets(client)

    async def status_is(expected: int, healthy: int, allowed: int) -> bool:
        s = (await client.get("pdb", "cached")).status
        return (s.expected_pods, s.desired_healthy, s.disruptions_allowed) == (
            expected, healthy, allowed,
        )  # fmt: skip

    async with running(DisruptionController(counting)):
        await eventually(lambda: status_is(4, 3, 0))
        assert counting.gets == 0
        await client.delete("ReplicaSet", "cached", propagation_policy="Background")
        await client.create(obj({
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "cached"},
            "spec": {"replicas": 9, "selector": {"matchLabels": {"app": "other"}},
                     "template": {"metadata": {"labels": {"app": "other"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
        }))  # fmt: skip
        await client.delete("Pod", "cached-0")  # a pod change: the budget is looked at again
        await eventually(lambda: status_is(2, 1, 1))
