"""kubectl drain through the gateway: evictions (POST pods/NAME/eviction)
honour PodDisruptionBudgets, as on Kubernetes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.gateway.conftest import GatewayCluster, GatewayServer

pytestmark = pytest.mark.usefixtures("needs_kubectl")

WEB = {
    "apiVersion": "v1",
    "kind": "ReplicationController",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 2,
        "selector": {"app": "web"},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "busybox"}]},
        },
    },
}
BUDGET = {
    "apiVersion": "policy/v1",
    "kind": "PodDisruptionBudget",
    "metadata": {"name": "web"},
    "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
}


async def _budget_status(gw: GatewayCluster, allowed: int) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        got = await gw.kubectl("get", "pdb", "web", "-o", "json")
        status = json.loads(got.out).get("status", {}) if got.code == 0 else {}
        if status.get("currentHealthy") == 2 and status.get("disruptionsAllowed") == allowed:
            return status
        assert asyncio.get_running_loop().time() < deadline, got.out + got.err
        await asyncio.sleep(0.2)


async def test_kubectl_drain_waits_for_the_budget(gateway_cluster: GatewayCluster) -> None:
    gw = gateway_cluster
    assert (await gw.kubectl("apply", "-f", "-", input=json.dumps(WEB))).code == 0
    assert (await gw.kubectl("apply", "-f", "-", input=json.dumps(BUDGET))).code == 0
    await _budget_status(gw, allowed=0)
    table = await gw.kubectl("get", "pdb")
    assert table.out.split("\n")[0].split() == [
        "NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE",
    ]  # fmt: skip
    pods = json.loads((await gw.kubectl("get", "pods", "-o", "json")).out)["items"]
    node = pods[0]["spec"]["nodeName"]

    refused = await gw.kubectl("drain", node, "--timeout=8s", timeout=90)
    assert refused.code != 0, refused.out
    assert "Cannot evict pod as it would violate the pod's disruption budget" in refused.err
    assert "global timeout reached" in refused.err, refused.err
    still = json.loads((await gw.kubectl("get", "pods", "-o", "json")).out)["items"]
    assert not any(p["metadata"].get("deletionTimestamp") for p in still)

    patch = json.dumps({"spec": {"minAvailable": 1}})
    assert (await gw.kubectl("patch", "pdb", "web", "--type=merge", "-p", patch)).code == 0
    await _budget_status(gw, allowed=1)
    drained = await gw.kubectl("drain", node, "--timeout=60s", timeout=90)
    assert drained.code == 0, drained.err
    assert "evicted" in drained.out and f"node/{node} drained" in drained.out


async def test_eviction_subresource_over_rest(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    resources = await (await gw.http.get("/api/v1")).json()
    found = {r["name"]: r for r in resources["resources"]}
    assert found["pods/eviction"] == {
        "name": "pods/eviction", "singularName": "", "namespaced": True, "kind": "Eviction",
        "verbs": ["create"], "group": "policy", "version": "v1",
    }  # fmt: skip
    assert found["pods/binding"]["kind"] == "Binding"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}  # fmt: skip
    assert (await gw.http.post("/api/v1/namespaces/default/pods", json=pod)).status == 201
    url = "/api/v1/namespaces/default/pods/p/eviction"
    wrong = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "other"}}
    mismatch = await gw.http.post(url, json=wrong)
    assert mismatch.status == 400, await mismatch.text()
    missing = await gw.http.post("/api/v1/namespaces/default/pods/nope/eviction",
                                 json={"apiVersion": "policy/v1", "kind": "Eviction",
                                       "metadata": {"name": "nope"}})  # fmt: skip
    assert missing.status == 404
    evicted = await gw.http.post(url, json={**wrong, "metadata": {"name": "p"}})
    assert evicted.status == 201
    assert (await evicted.json())["status"] == "Success"
    gone = await gw.http.get("/api/v1/namespaces/default/pods/p")
    assert gone.status == 404  # a pod on no node goes at once
