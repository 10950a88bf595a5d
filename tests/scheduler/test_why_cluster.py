"""``shoal why`` on hollow nodes (3 nodes, the real control plane): the
scheduler's decision reaches the pod through the API, and the real CLI
renders it, for a pod that landed and one that fits nowhere."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from shoal.agent.testing import Cluster
from shoal.client import Client
from shoal.plugins.scheduler.decision import ANNOTATION

from tests.ctl.conftest import Result, invoke
from tests.integration.helpers import eventually
from tests.scheduler.builders import pod

SELECTOR = "node(s) didn't match Pod's node affinity/selector"


async def decision_of(client: Client, name: str, *, bound: bool) -> dict[str, Any] | None:
    got = await client.get("Pod", name, "default")
    text = got.metadata.annotations.get(ANNOTATION)
    if not text or bool(got.spec.node_name) != bound:
        return None
    decision: dict[str, Any] = json.loads(text)
    return decision


async def why(cluster: Cluster, *args: str) -> Result:
    argv = ["--server", f"127.0.0.1:{cluster.server.port}", "why", *args]
    return await asyncio.to_thread(invoke, argv)


async def test_why_a_pod_landed_on_the_only_node_its_selector_matches(
    shoal_cluster: Cluster,
) -> None:
    client = shoal_cluster.client
    chosen = shoal_cluster.nodes[1]
    await client.patch("Node", chosen, {"metadata": {"labels": {"why": "here"}}})
    await client.create(pod("picky", cpu="1", nodeSelector={"why": "here"}))

    async def landed() -> dict[str, Any] | None:
        decision = await decision_of(client, "picky", bound=True)
        # before the scheduler saw the label, the pod may have been refused
        return decision if decision and decision["node"] else None

    decision = await eventually(landed, timeout=30)
    placed = await client.get("Pod", "picky", "default")
    assert placed.spec.node_name == decision["node"] == chosen
    assert decision["filtered"] == {SELECTOR: 2}
    assert decision["feasible"] == 1 and decision["nodes"] == 3
    result = await why(shoal_cluster, "pod/picky")
    assert result.code == 0, result.err
    assert f"Scheduled to {chosen}: 1 of 3 node(s) fit." in result.out
    assert f"      2  {SELECTOR}" in result.out
    assert f"{chosen} was the only node that fit." in result.out


async def test_why_a_pod_too_big_for_any_node_is_pending(shoal_cluster: Cluster) -> None:
    client = shoal_cluster.client
    await client.create(pod("huge", cpu="64"))
    decision = await eventually(lambda: decision_of(client, "huge", bound=False), timeout=30)
    assert decision["filtered"] == {"Insufficient cpu": 3}
    nearest = decision["nearest"]
    assert sorted(row["node"] for row in nearest) == shoal_cluster.nodes
    assert all(row["reasons"] == ["Insufficient cpu"] for row in nearest)
    roomiest = max(row["free"]["cpu"] for row in nearest)
    assert nearest[0]["free"]["cpu"] == roomiest
    assert decision["hints"][0].startswith(f"request at most cpu {roomiest}m (asks 64000m)")
    result = await why(shoal_cluster, "huge")
    assert result.code == 0, result.err
    assert "Pending: 0 of 3 node(s) fit." in result.out
    assert "      3  Insufficient cpu" in result.out
    assert f"  {nearest[0]['node']}  " in result.out
    assert f"  - request at most cpu {roomiest}m" in result.out
