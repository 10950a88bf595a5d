"""The fake runtime's pod addresses: a hollow node runs pods for as long as
it lives, not only as many as its range holds over its life."""

from __future__ import annotations

import pytest
from shoal.plugins.runtimes.fake import FakeRuntime
from shoal.plugins.runtimes.fake_ipam import PodAddresses
from shoal.runtime import PodSandboxConfig, RuntimeFailure


def test_addresses_come_round_after_the_last_given_and_are_freed() -> None:
    addresses = PodAddresses("10.244.3.0/30")  # two hosts: .1 and .2
    assert addresses.allocate("a") == "10.244.3.1"
    assert addresses.allocate("b") == "10.244.3.2"
    with pytest.raises(RuntimeFailure) as err:
        addresses.allocate("c")
    assert err.value.reason == "CreatePodSandboxError"
    assert "no free pod IP address left in 10.244.3.0/30" in str(err.value)
    addresses.release("a")
    addresses.release("a")  # stopped, then removed: freed once
    assert addresses.allocate("c") == "10.244.3.1"
    addresses.release("b")
    assert addresses.allocate("d") == "10.244.3.2"


def test_ipv6_ranges_keep_their_last_address() -> None:
    addresses = PodAddresses("fd00::/126")
    assert [addresses.allocate(s) for s in "abc"] == ["fd00::1", "fd00::2", "fd00::3"]


async def test_a_node_runs_more_pods_over_its_life_than_its_range_holds() -> None:
    runtime = FakeRuntime({"pod_cidr": "10.244.7.0/29"})  # six addresses
    seen = set()
    for i in range(20):
        config = PodSandboxConfig(name=f"p{i}", namespace="default", uid=f"u-{i}")
        sandbox = await runtime.run_pod_sandbox(config)
        seen.add((await runtime.pod_sandbox_status(sandbox)).ip)
        if i % 2:
            await runtime.stop_pod_sandbox(sandbox)
        await runtime.remove_pod_sandbox(sandbox)
    assert len(seen) == 6
    running = [
        await runtime.run_pod_sandbox(PodSandboxConfig(name=f"r{i}", namespace="d", uid=f"r{i}"))
        for i in range(6)
    ]
    ips = {(await runtime.pod_sandbox_status(s)).ip for s in running}
    assert len(ips) == 6  # no two running sandboxes share an address
    with pytest.raises(RuntimeFailure):
        await runtime.run_pod_sandbox(PodSandboxConfig(name="x", namespace="d", uid="x"))
