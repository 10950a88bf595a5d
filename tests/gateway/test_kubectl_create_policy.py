"""``kubectl create priorityclass`` and ``kubectl create poddisruptionbudget``:
kubectl's typed generators send Kubernetes protobuf (no JSON fallback), so
the gateway must decode these kinds; then ``kubectl get`` prints them."""

from __future__ import annotations

import re

import pytest

from tests.gateway.conftest import GatewayServer

pytestmark = pytest.mark.usefixtures("needs_kubectl")


async def test_create_priorityclass(gateway_server: GatewayServer) -> None:
    k = gateway_server.kubectl
    run = await k("create", "priorityclass", "high", "--value=1000", "--description=batch work",
                  "--preemption-policy=Never")  # fmt: skip
    assert run.code == 0, run.err
    assert run.out == "priorityclass.scheduling.k8s.io/high created\n"
    run = await k("create", "priorityclass", "zero", "--value=0", "--global-default")
    assert run.code == 0, run.err
    high = await gateway_server.client.get("PriorityClass", "high")
    assert (high.value, high.description, high.preemption_policy) == (1000, "batch work", "Never")
    assert not high.global_default
    zero = await gateway_server.client.get("PriorityClass", "zero")
    assert (zero.value, zero.global_default, zero.preemption_policy) == (
        0, True, "PreemptLowerPriority"
    )  # fmt: skip
    got = await k("get", "pc", "high", "zero")
    # Kubernetes 1.32's columns (printPriorityClass)
    assert got.out.split("\n")[0].split() == [
        "NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"
    ]  # fmt: skip
    assert re.search(r"^high\s+1000\s+false\s+\d+s\s+Never$", got.out, re.M), got.out
    assert re.search(r"^zero\s+0\s+true\s+\d+s\s+PreemptLowerPriority$", got.out, re.M)


async def test_create_poddisruptionbudget(gateway_server: GatewayServer) -> None:
    k = gateway_server.kubectl
    run = await k("create", "pdb", "least", "--selector=app=web", "--min-available=2")
    assert run.code == 0, run.err
    assert run.out == "poddisruptionbudget.policy/least created\n"
    run = await k("create", "poddisruptionbudget", "most", "--selector=app=web",
                  "--max-unavailable=50%")  # fmt: skip
    assert run.code == 0, run.err
    run = await k("create", "pdb", "none", "--selector=app=web", "--max-unavailable=0")
    assert run.code == 0, run.err
    least = await gateway_server.client.get("PodDisruptionBudget", "least", "default")
    assert least.spec.min_available.number_value == 2
    assert dict(least.spec.selector.match_labels) == {"app": "web"}
    assert not least.spec.HasField("max_unavailable")
    most = await gateway_server.client.get("PodDisruptionBudget", "most", "default")
    assert most.spec.max_unavailable.string_value == "50%"
    none = await gateway_server.client.get("PodDisruptionBudget", "none", "default")
    assert none.spec.HasField("max_unavailable")
    assert none.spec.max_unavailable.WhichOneof("kind") == "number_value"
    got = await k("get", "pdb")
    assert re.search(r"^least\s+2\s+N/A\s", got.out, re.M), got.out
    assert re.search(r"^most\s+N/A\s+50%\s", got.out, re.M), got.out
    assert re.search(r"^none\s+N/A\s+0\s", got.out, re.M), got.out
