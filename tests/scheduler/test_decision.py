"""The decision record (``shoal why``): what the framework's scheduling cycle
keeps, bounded, and how ``shoal why`` renders it."""

from __future__ import annotations

import json
import random
from typing import Any

from shoal.ctl.why import render
from shoal.plugins.scheduler.cache import PodInfo
from shoal.plugins.scheduler.decision import DecisionRecorder, encode
from shoal.plugins.scheduler.framework import FitError, Framework

from tests.scheduler.builders import node, pod
from tests.scheduler.test_policies import builtin_plugins, cluster


def framework(recorder: DecisionRecorder | None) -> Framework:
    fw = Framework(builtin_plugins(), rng=random.Random(0))
    fw.recorder = recorder
    return fw


def schedule(fw: Framework, candidate: Any, nodes: list[Any], bound: list[Any] = ()) -> Any:  # type: ignore[assignment]
    state: dict[str, Any] = {}
    try:
        chosen = fw.schedule(candidate, cluster(nodes, bound), PodInfo.of(candidate), state)
    except FitError:
        chosen = None
    return chosen, state.get("decision")


def test_a_scheduled_pod_records_the_excluded_and_the_scores_of_the_winner() -> None:
    recorder = DecisionRecorder(top=2)
    nodes = [node("a"), node("b", labels={"disk": "ssd"}), node("c", labels={"disk": "ssd"})]
    busy = [pod("busy", cpu="3", node_name="c")]
    chosen, decision = schedule(
        framework(recorder), pod("web", cpu="500m", nodeSelector={"disk": "ssd"}), nodes, busy
    )
    assert chosen == "b"
    assert decision["node"] == "b" and decision["nodes"] == 3 and decision["feasible"] == 2
    assert decision["filtered"] == {"node(s) didn't match Pod's node affinity/selector": 1}
    top = decision["top"]
    assert [row["node"] for row in top] == ["b", "c"]
    assert top[0]["total"] > top[1]["total"]
    # the totals are the weighted sums of the recorded per-plugin scores
    weights = decision["weights"]
    for row in top:
        assert row["total"] == sum(s * weights[p] for p, s in row["scores"].items())
    assert recorder.get("default/web") is decision
    text = render(json.loads(encode(decision)), "default", "web")
    assert "Scheduled to b: 2 of 3 node(s) fit." in text
    assert "1  node(s) didn't match Pod's node affinity/selector" in text
    assert f"b won by {top[0]['total'] - top[1]['total']} over c." in text


def test_recording_does_not_change_the_choice() -> None:
    nodes = [node(f"n{i}", cpu=str(2 + i % 3)) for i in range(12)]
    for i in range(20):
        candidate = pod(f"p{i}", cpu="300m")
        plain, _ = schedule(framework(None), candidate, nodes)
        recorded, decision = schedule(framework(DecisionRecorder()), candidate, nodes)
        assert plain == recorded == decision["node"] == decision["top"][0]["node"]


def test_a_pending_pod_records_every_nodes_failures_the_nearest_and_hints() -> None:
    nodes = [node("small", cpu="2"), node("big", cpu="4"), node("tainted", cpu="8", taints=[
        {"key": "gpu", "value": "yes", "effect": "NoSchedule"}
    ])]  # fmt: skip
    chosen, decision = schedule(framework(DecisionRecorder()), pod("huge", cpu="6"), nodes)
    assert chosen is None
    assert decision["node"] == "" and decision["nodes"] == 3
    assert decision["filtered"] == {
        "Insufficient cpu": 2,
        "node(s) had untolerated taint {gpu: yes}": 1,
    }
    nearest = decision["nearest"]
    # one failure each; "tainted" has room, so it is nearest, then big, then small
    assert [row["node"] for row in nearest] == ["tainted", "big", "small"]
    assert nearest[1] == {"node": "big", "reasons": ["Insufficient cpu"], "free": {
        "cpu": 4000, "memory": 8 * 1024**3}}  # fmt: skip
    assert decision["hints"] == [
        "request at most cpu 4000m (asks 6000m): fits node big",
        "tolerate the taint {gpu: yes}: fits node tainted",
    ]
    text = render(decision, "default", "huge")
    assert "Pending: 0 of 3 node(s) fit." in text
    assert "big      4         8192Mi       Insufficient cpu" in text
    assert "  - tolerate the taint {gpu: yes}: fits node tainted" in text


def test_a_pending_pod_with_a_selector_no_node_has_hints_the_label() -> None:
    nodes = [node("a"), node("b")]
    _, decision = schedule(
        framework(DecisionRecorder()), pod("w", nodeSelector={"zone": "x"}), nodes
    )
    assert decision["hints"] == ["label node a with zone=x"]


def test_memory_is_bounded() -> None:
    recorder = DecisionRecorder(top=3, recent=5)
    fw = framework(recorder)
    nodes = [node(f"n{i}") for i in range(40)]
    for i in range(12):
        _, decision = schedule(fw, pod(f"p{i}"), nodes)
        assert len(decision["top"]) == 3
        assert len(encode(decision)) < 2048
    assert list(recorder.decisions) == [f"default/p{i}" for i in range(7, 12)]


def test_at_5000_nodes_the_record_stays_small_and_names_the_choice() -> None:
    nodes = [node(f"n{i:04}", cpu=str(2 + i % 7)) for i in range(5000)]
    fw = framework(DecisionRecorder())
    chosen, decision = schedule(fw, pod("web", cpu="1"), nodes)
    assert decision["node"] == chosen == decision["top"][0]["node"]
    assert decision["nodes"] == 5000 and decision["feasible"] >= 100
    assert len(decision["top"]) == 5 and len(encode(decision)) < 2048
    _, pending = schedule(fw, pod("huge", cpu="64"), nodes)
    assert pending["filtered"] == {"Insufficient cpu": 5000}
    # the roomiest nodes (8 cpu) are nearest
    assert [row["free"]["cpu"] for row in pending["nearest"]] == [8000] * 5
    assert pending["hints"][0].startswith("request at most cpu 8000m (asks 64000m)")
    assert len(encode(pending)) < 2048


def test_a_pending_pods_analysis_is_bounded_to_the_roomiest_nodes() -> None:
    nodes = [node(f"n{i:02}", cpu=str(1 + i % 5)) for i in range(40)]
    _, decision = schedule(
        framework(DecisionRecorder(top=10, analyzed=8)), pod("x", cpu="9"), nodes
    )
    assert decision["filtered"] == {"Insufficient cpu": 40}  # the counts cover every node
    assert sorted(row["free"]["cpu"] for row in decision["nearest"]) == [5000] * 8
