"""``shoal simulate`` end to end: the real API server, scheduler and
controllers against hollow nodes on the virtual clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shoal.plugins.simulate import runner
from shoal.plugins.simulate.scenario import Simulation, add_documents, hollow_nodes

from tests.simulate.conftest import shoal_process

TOLERATION = 300  # seconds: the API server's default for not-ready/unreachable
GRACE = 40  # the node lifecycle controller's --node-monitor-grace-period


def deployment(replicas: int, name: str = "web") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: {name}
        image: shoal.local/hello:v1
        resources: {{requests: {{cpu: 250m, memory: 64Mi}}}}
"""


@pytest.mark.timeout(600)  # a safety net only; nothing here is timed
def test_killing_one_of_50_nodes_evicts_its_pods_after_their_toleration() -> None:
    sim = Simulation(nodes=hollow_nodes(50), duration=600)
    add_documents(sim, deployment(150), "web.yaml")
    add_documents(sim, "kind: Scenario\nevents: [{at: 1m, action: kill-node}]", "scenario.yaml")
    report = runner.run(sim).as_dict()

    [killed] = report["disruptions"]
    assert killed["action"] == "kill-node" and killed["node"].startswith("hollow-")
    assert killed["podsOnNode"] > 0
    assert killed["evicted"] == killed["podsOnNode"]
    assert killed["rescheduled"] == killed["evicted"]
    assert killed["recoverySeconds"] >= TOLERATION + GRACE / 2
    assert (report["running"], report["pending"]) == (150, 0)
    assert report["simulatedMinutesPerWallSecond"] > 0
    # the killed node's pods were counted running until it died, never after
    after = [s for s in report["samples"] if s["at"] > 60]
    assert all(killed["node"] not in s["cpuRequested"] for s in after)


def test_scale_and_drain_in_a_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "kind: Scenario\nevents:\n"
        "- {at: 30s, action: scale, name: web, replicas: 12}\n"
        "- {at: 1m, action: drain-node, node: hollow-0000}\n"
    )
    sim = Simulation(nodes=hollow_nodes(4), duration=180)
    add_documents(sim, deployment(6), "web.yaml")
    add_documents(sim, scenario.read_text(), str(scenario))
    report = runner.run(sim).as_dict()
    [drained] = report["disruptions"]
    assert drained["node"] == "hollow-0000"
    assert drained["evicted"] == drained["podsOnNode"] > 0
    assert drained["rescheduled"] == drained["evicted"]
    assert drained["recoverySeconds"] is not None
    assert (report["running"], report["pending"]) == (12, 0)


def budget(**spec: int) -> str:
    rule = ", ".join(f"{k}: {v}" for k, v in spec.items())
    return (
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\n"
        f"spec: {{{rule}, selector: {{matchLabels: {{app: web}}}}}}\n"
    )


@pytest.mark.parametrize(
    ("rule", "all_evicted"),
    [({"maxUnavailable": 1}, True), ({"minAvailable": 4}, False)],
    ids=["one-at-a-time", "none-allowed"],
)
def test_a_drain_evicts_and_honours_disruption_budgets(
    rule: dict[str, int], all_evicted: bool
) -> None:
    sim = Simulation(nodes=hollow_nodes(2), duration=240)
    add_documents(sim, deployment(4), "web.yaml")
    add_documents(sim, budget(**rule), "pdb.yaml")
    add_documents(
        sim, "kind: Scenario\nevents:\n- {at: 1m, action: drain-node, node: hollow-0000}\n", "s"
    )
    report = runner.run(sim).as_dict()
    [drained] = report["disruptions"]
    assert drained["podsOnNode"] > 0
    if all_evicted:  # the budget lets them go, one at a time
        assert drained["evicted"] == drained["podsOnNode"]
        assert drained["rescheduled"] == drained["evicted"]
        assert [a["error"] for a in report["actions"]] == [""]
    else:  # a budget that allows no disruption keeps every pod where it is
        assert drained["evicted"] == 0


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_the_cli_reports_and_plots(tmp_path: Path, suffix: str) -> None:
    workload = tmp_path / "web.yaml"
    workload.write_text(deployment(8))
    plot = tmp_path / f"run{suffix}"
    args = ["simulate", "--nodes", "4", "-f", str(workload), "--kill-node", "30s", "--for", "2m"]
    code, out, err = shoal_process(*args, "--plot", str(plot), "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["nodes"] == 4 and data["disruptions"][0]["action"] == "kill-node"
    head = plot.read_bytes()[:200]
    if suffix == ".png":
        assert head.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert b"<svg" in plot.read_bytes()
    code, text, err = shoal_process(*args)
    assert code == 0, err
    assert "simulated minutes per second" in text and "kill-node" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kill-node", "soon"], "invalid duration"),
        (["--kill-node", "nope@1m"], "no node 'nope'"),
        (["--kill-node", "20m"], "after the end"),
        (["--plot", "x.gif"], ".png or .svg"),
    ],
)
def test_the_cli_refuses_bad_input_without_a_traceback(args: list[str], message: str) -> None:
    code, _, err = shoal_process("simulate", "--nodes", "2", "--for", "10m", *args)
    assert code == 2
    assert message in err and "Traceback" not in err
