"""``shoal why`` through the real CLI against the in-process API server: it
reads the pod's decision annotation and renders it; bad targets refuse."""

from __future__ import annotations

import json

import pytest
from shoal.client import Client
from shoal.plugins.scheduler.decision import ANNOTATION, encode

from tests.ctl.conftest import Shoal
from tests.scheduler.builders import pod


@pytest.mark.parametrize("target", ["deployment/web", "pod/"])
async def test_why_refuses_what_is_not_a_pod(shoal: Shoal, target: str) -> None:
    result = await shoal("why", target)
    assert result.code == 2 and "Traceback" not in result.err


async def test_why_through_the_cli(shoal: Shoal, shoal_client: Client) -> None:
    decision = {"node": "", "nodes": 2, "feasible": 0, "filtered": {"Insufficient cpu": 2},
                "nearest": [{"node": "a", "reasons": ["Insufficient cpu"],
                             "free": {"cpu": 1500, "memory": 1024**3}}],
                "hints": ["request at most cpu 1500m (asks 9000m): fits node a"]}  # fmt: skip
    manifest = pod("big", cpu="9")
    manifest.metadata.annotations[ANNOTATION] = encode(decision)
    await shoal_client.create(manifest)
    result = await shoal("why", "pod/big")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "Pod default/big",
        "Pending: 0 of 2 node(s) fit.",
        "Excluded (nodes by reason):",
        "      2  Insufficient cpu",
        "Nearest nodes:",
        "  NODE  FREE CPU  FREE MEMORY  WHY NOT",
        "  a     1500m     1024Mi       Insufficient cpu",
        "To fit:",
        "  - request at most cpu 1500m (asks 9000m): fits node a",
    ]
    assert json.loads((await shoal("why", "big", "-o", "json")).out) == decision
    stale = pod("moved", node_name="n9")
    stale.metadata.annotations[ANNOTATION] = encode(decision)
    await shoal_client.create(stale)
    result = await shoal("why", "pod/moved")
    assert result.code == 0 and "Note: the pod is now on n9; this record is from an" in result.out
    await shoal_client.create(pod("plain"))
    result = await shoal("why", "plain")
    assert result.code == 1 and "has no scheduling decision" in result.err
    missing = await shoal("why", "pod/nope")
    assert missing.code != 0 and "not found" in missing.err and "Traceback" not in missing.err
