"""Pods on a fake-runtime agent: running, crashing, probes, deletion, adoption."""

from __future__ import annotations

from typing import Any

from shoal.client import Client
from shoal.plugins.runtimes.fake import FakeRuntime
from tests.agent.conftest import StartAgent
from tests.integration.helpers import eventually, pod


async def _get(client: Client, name: str) -> Any:
    return await client.get("Pod", name)


def _state(p: Any, index: int = 0) -> str:
    if len(p.status.container_statuses) <= index:
        return ""
    return p.status.container_statuses[index].state.WhichOneof("state") or ""


async def test_pod_runs_and_status_reads_right(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    agent = await start_agent()
    await shoal_client.create(pod("web", node="node-1", image="nginx:1.25"))

    async def running() -> Any:
        p = await _get(shoal_client, "web")
        return p if p.status.phase == "Running" and p.status.conditions else None

    p = await eventually(running)
    s = p.status
    assert s.host_ip == "127.0.0.1"
    assert s.pod_ip.startswith("10.244.")
    assert s.start_time.seconds > 0
    conditions = {c.type: c.status for c in s.conditions}
    assert conditions == {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "True",
        "Ready": "True",
    }
    (c,) = s.container_statuses
    assert c.name == "main" and c.ready and c.restart_count == 0
    assert c.state.running.started_at.seconds > 0
    assert c.container_id.startswith("fake://") and c.image == "nginx:1.25"
    assert s.qos_class == "BestEffort"
    assert len(agent.nodes["node-1"].runtime.containers) == 1  # type: ignore[attr-defined]
