"""The simulation's input and its virtual clock, without a cluster."""

from __future__ import annotations

import asyncio

import pytest
from shoal import clock
from shoal.plugins.simulate.scenario import (
    ScenarioError,
    Simulation,
    add_documents,
    hollow_nodes,
    parse_node_action,
)
from shoal.plugins.simulate.virtualloop import VirtualClockLoop, virtual_clocks

SCENARIO = """
apiVersion: simulate.shoal.dev/v1
kind: Scenario
events:
- {at: 3m, action: kill-node, node: hollow-0001}
- {at: 90, action: scale, name: web, replicas: 5}
---
apiVersion: v1
kind: Node
metadata: {name: big, labels: {zone: a}}
spec: {taints: [{key: gpu, value: "yes", effect: NoSchedule}]}
status: {allocatable: {cpu: "16", memory: 64Gi, pods: "200"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
"""


def test_documents_sort_into_nodes_workloads_and_actions() -> None:
    sim = Simulation(nodes=hollow_nodes(3))
    add_documents(sim, SCENARIO, "s.yaml")
    sim.validate()
    assert [(a.at, a.action) for a in sim.actions] == [(90.0, "scale"), (180.0, "kill-node")]
    big = sim.nodes[-1]
    assert (big.name, big.cpu, big.memory, big.max_pods) == ("big", "16", "64Gi", 200)
    assert big.labels == {"zone": "a"} and big.taints[0]["key"] == "gpu"
    assert [w["kind"] for w in sim.workloads] == ["ConfigMap"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Scenario\nevents: [{at: soon, action: kill-node}]", "invalid duration"),
        ("kind: Scenario\nevents: [{at: 1m, action: explode}]", "action must be one of"),
        ("kind: Scenario\nevents: [{at: 1m, action: scale, name: web}]", "replicas"),
        ("kind: Scenario\nevents: [{at: 1m, action: kill-node, node: nope}]", "no node 'nope'"),
        ("kind: Scenario\nevents: [{at: 2h, action: kill-node}]", "after the end"),
        ("kind: Scenario\nevents: {}", "list of events"),
        ("a: [unclosed", "s.yaml"),
    ],
)
def test_bad_scenarios_are_refused_with_the_reason(text: str, message: str) -> None:
    sim = Simulation(nodes=hollow_nodes(2), duration=600)
    with pytest.raises(ScenarioError, match=message):
        add_documents(sim, text, "s.yaml")
        sim.validate()


def test_node_actions_on_the_command_line() -> None:
    assert (parse_node_action("3m", "kill-node").node, parse_node_action("3m", "kill-node").at) == (
        "",
        180.0,
    )
    named = parse_node_action("worker-1@1m30s", "drain-node")
    assert (named.node, named.at, named.action) == ("worker-1", 90.0, "drain-node")
    with pytest.raises(ScenarioError, match="invalid duration"):
        parse_node_action("worker-1@later", "kill-node")


def test_without_nodes_there_is_nothing_to_simulate() -> None:
    with pytest.raises(ScenarioError, match="no nodes"):
        Simulation().validate()


def test_the_virtual_clock_jumps_over_idle_time_and_the_shoal_clock_follows() -> None:
    loop = VirtualClockLoop()
    wall, mono = virtual_clocks(loop, epoch=1_000_000.0)

    async def nap() -> tuple[float, float]:
        before = clock.monotonic()
        await asyncio.sleep(3600)  # an hour, virtually
        return before, clock.monotonic()

    try:
        with clock.install(wall, mono):
            before, after = loop.run_until_complete(nap())
            assert clock.time() >= 1_000_000.0 + 3600
    finally:
        loop.close()
    assert after - before >= 3600
    assert loop.jumps >= 1


def test_a_sleep_shorter_than_the_clocks_precision_still_moves_the_clock() -> None:
    """At t = 260.3 s a float cannot hold t + 1e-14: the timer came due at
    once, the clock never moved, and a loop sleeping until a deadline that
    far ahead (the scenario player's, after a subtraction's rounding) spun
    forever: the CI's simulation that hung for 300 s."""
    loop = VirtualClockLoop()
    loop.advance(260.2)
    deadline = loop.time() + 1e-14
    assert deadline == loop.time()  # the rounding itself
    naps = 0

    async def until_after(at: float) -> None:
        nonlocal naps
        while loop.time() <= at and naps < 100:
            naps += 1
            await asyncio.sleep(1e-14)

    try:
        loop.run_until_complete(until_after(loop.time()))
    finally:
        loop.close()
    assert naps == 1
