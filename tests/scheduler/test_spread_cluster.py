"""topologySpreadConstraints on hollow nodes (3 nodes): pods spread over
``kubernetes.io/hostname``, and a constraint that cannot be met leaves the
pod Pending with a FailedScheduling message that says why."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shoal.agent.testing import Cluster
from shoal.client import Client

from tests.integration.helpers import eventually, pod


def spread_pod(name: str, **constraint: Any) -> Any:
    return pod(
        name,
        labels={"app": "web"},
        topologySpreadConstraints=[{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}},
            **constraint,
        }],
    )  # fmt: skip


async def placements(client: Client, count: int) -> Counter[str] | None:
    pods = (await client.list("pods", label_selector="app=web")).items
    if len(pods) == count and all(p.spec.node_name for p in pods):
        return Counter(p.spec.node_name for p in pods)
    return None


async def test_pods_spread_over_the_hostnames(shoal_cluster: Cluster) -> None:
    client = shoal_cluster.client
    for i in range(6):
        await client.create(spread_pod(f"web-{i}"))
    spread = await eventually(lambda: placements(client, 6), timeout=30)
    assert spread == Counter({name: 2 for name in shoal_cluster.nodes})


async def test_an_unmet_skew_leaves_the_pod_pending_and_says_why(shoal_cluster: Cluster) -> None:
    client = shoal_cluster.client
    # minDomains 4 over 3 nodes: the minimum counts as 0, so each node
    # takes at most one pod and a fourth fits nowhere.
    for i in range(3):
        await client.create(spread_pod(f"web-{i}", minDomains=4))
    spread = await eventually(lambda: placements(client, 3), timeout=30)
    assert spread == Counter({name: 1 for name in shoal_cluster.nodes})
    await client.create(spread_pod("web-3", minDomains=4))

    async def failed() -> list[Any]:
        selector = "reason=FailedScheduling,involvedObject.name=web-3"
        return (await client.list("Event", "default", field_selector=selector)).items

    events = await eventually(failed, timeout=30)
    assert events[0].message == (
        "0/3 nodes are available: 3 node(s) didn't match pod topology spread constraints. "
        "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    )
    pending = await client.get("pods", "web-3")
    assert pending.status.phase == "Pending" and not pending.spec.node_name
    scheduled = next(c for c in pending.status.conditions if c.type == "PodScheduled")
    assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
