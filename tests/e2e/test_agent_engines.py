"""The agent on real Docker and Podman, end to end: pods created through the
API server (bound to the agent's node), run by the engine, read back through
the API and the streams relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from shoal import errors
from shoal.runtime import LABEL_POD_UID

from tests.e2e.agents import (
    E2ENode,
    busybox_pod,
    exec_in,
    logs,
    restart_agent,
    start_node,
    stop_node,
    watch_pod,
)
from tests.e2e.engines import engine_client
from tests.integration.helpers import eventually

pytestmark = pytest.mark.e2e

SERVE = "mkdir -p /www && echo pod-local > /www/index.html && exec httpd -f -p 8080 -h /www"
FETCH = (
    "until wget -qO- http://127.0.0.1:8080/; do sleep 0.1; done; "
    "echo; echo fetched; exec sleep 3600"
)
SLEEP = "exec sleep 3600"


@pytest_asyncio.fixture
async def cluster(engine: str, node_name: str, tmp_path: Path) -> AsyncIterator[E2ENode]:
    node = await start_node(engine, node_name, tmp_path)
    try:
        yield node
    finally:
        await stop_node(node)


def running(p: Any) -> bool:
    statuses = p.status.container_statuses
    return (
        p.status.phase == "Running"
        and bool(statuses)
        and all(c.state.HasField("running") for c in statuses)
    )


def condition(p: Any, kind: str) -> str:
    return next((c.status for c in p.status.conditions if c.type == kind), "")


def engine_containers(engine: str, uid: str) -> dict[str, str]:
    """id -> state of the engine's containers of pod ``uid`` (pause/infra too)."""
    found = engine_client(engine).containers.list(
        all=True, filters={"label": f"{LABEL_POD_UID}={uid}"}
    )
    return {c.id: _state(c.attrs) for c in found}


def _state(attrs: dict[str, Any]) -> str:
    state = attrs["State"]  # Podman lists it as a word, Docker as an object
    return str(state if isinstance(state, str) else state["Status"])


async def test_pod_containers_share_localhost_and_status_reads_right(cluster: E2ENode) -> None:
    await cluster.client.create(
        busybox_pod("web", cluster.node, {"server": SERVE, "client": FETCH})
    )
    p, _ = await watch_pod(
        cluster.client, "web", lambda p: running(p) and condition(p, "Ready") == "True"
    )
    s = p.status
    assert s.pod_ip and s.pod_ip != "127.0.0.1" and s.host_ip == "127.0.0.1"
    assert s.start_time.seconds > 0
    assert {c.type: c.status for c in s.conditions} == {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "True",
        "Ready": "True",
    }
    for c in s.container_statuses:
        assert c.container_id.startswith(f"{cluster.engine}://"), c.container_id
        assert c.image_id and c.image == "shoal.local/busybox:latest"
        assert c.state.running.started_at.seconds >= s.start_time.seconds - 1
        assert c.ready and c.restart_count == 0 and c.started
    # the client reached the server on the pod's localhost
    fetched = await eventually(lambda: _logs_with(cluster, "web", "client", b"fetched"), timeout=15)
    assert b"pod-local" in fetched


async def _logs_with(cluster: E2ENode, pod: str, container: str, text: bytes) -> bytes | None:
    got = await logs(cluster.streams, pod, container)
    return got if text in got else None


async def test_logs_and_exec_through_the_api_server(cluster: E2ENode) -> None:
    script = "echo one; echo two >&2; echo three; exec sleep 3600"
    await cluster.client.create(busybox_pod("talk", cluster.node, {"main": script}))
    await watch_pod(cluster.client, "talk", running)
    whole = await eventually(lambda: _logs_with(cluster, "talk", "", b"three"), timeout=10)
    # stdout and stderr both; their order is the engine's (two pipes)
    assert sorted(whole.splitlines()) == [b"one", b"three", b"two"]
    last = whole.splitlines(keepends=True)[-1]
    assert await logs(cluster.streams, "talk", tail_lines=1) == last
    stamped = await logs(cluster.streams, "talk", tail_lines=1, timestamps=True)
    assert stamped[:4].isdigit() and stamped.endswith(b" " + last)
    code, out, _ = await exec_in(
        cluster.streams, "talk", "main", ["sh", "-c", "cat; exit 7"], b"hi\n"
    )
    assert (code, out) == (7, b"hi\n")
    code, out, err = await exec_in(cluster.streams, "talk", "main", ["sh", "-c", "hostname >&2"])
    assert code == 0 and out == b"" and err.strip() == b"talk"


async def test_crashing_container_restarts_with_back_off(cluster: E2ENode) -> None:
    await cluster.client.create(busybox_pod("crash", cluster.node, {"main": "echo boom; exit 3"}))

    def looping(p: Any) -> bool:
        c = p.status.container_statuses
        return (
            bool(c) and c[0].restart_count >= 2 and c[0].state.waiting.reason == "CrashLoopBackOff"
        )

    p, seen = await watch_pod(cluster.client, "crash", looping, timeout=30)
    c = p.status.container_statuses[0]
    assert "back-off" in c.state.waiting.message and "container=main" in c.state.waiting.message
    assert c.last_state.terminated.exit_code == 3 and c.last_state.terminated.reason == "Error"
    assert c.last_state.terminated.container_id.startswith(f"{cluster.engine}://")
    assert p.status.phase == "Running" and condition(p, "Ready") == "False"
    counts = [
        v.status.container_statuses[0].restart_count for v in seen if v.status.container_statuses
    ]
    assert counts == sorted(counts)  # restartCount only grows
    assert await logs(cluster.streams, "crash", previous=True) == b"boom\n"
    events = await cluster.client.list("Event", "default")
    assert "BackOff" in {e.reason for e in events.items}


async def test_failing_liveness_probe_restarts_the_container(cluster: E2ENode) -> None:
    p = busybox_pod("sick", cluster.node, {"main": SLEEP})
    p.spec.containers[0].liveness_probe.exec.command.extend(["test", "-f", "/tmp/healthy"])
    p.spec.containers[0].liveness_probe.period_seconds = 1
    p.spec.containers[0].liveness_probe.failure_threshold = 1
    await cluster.client.create(p)

    def restarted(p: Any) -> bool:
        c = p.status.container_statuses
        return bool(c) and c[0].restart_count >= 1 and c[0].last_state.HasField("terminated")

    p, _ = await watch_pod(cluster.client, "sick", restarted, timeout=30)
    last = p.status.container_statuses[0].last_state.terminated
    assert last.exit_code != 0  # stopped by the agent, not by itself
    events = {e.reason: e.message for e in (await cluster.client.list("Event", "default")).items}
    assert events["Unhealthy"].startswith("Liveness probe failed")
    assert "failed liveness probe, will be restarted" in events["Killing"]


async def test_readiness_probe_gates_ready(cluster: E2ENode) -> None:
    p = busybox_pod("gate", cluster.node, {"server": SERVE})
    probe = p.spec.containers[0].readiness_probe
    probe.http_get.path = "/ready.html"
    probe.http_get.port.number_value = 8080
    probe.period_seconds = 1
    probe.failure_threshold = 1
    await cluster.client.create(p)
    p, _ = await watch_pod(cluster.client, "gate", running)
    assert condition(p, "Ready") == "False"
    assert not p.status.container_statuses[0].ready
    touch = ["sh", "-c", "echo ok > /www/ready.html"]
    assert (await exec_in(cluster.streams, "gate", "server", touch))[0] == 0
    await watch_pod(cluster.client, "gate", lambda p: condition(p, "Ready") == "True")
    assert (await exec_in(cluster.streams, "gate", "server", ["rm", "/www/ready.html"]))[0] == 0
    p, _ = await watch_pod(cluster.client, "gate", lambda p: condition(p, "Ready") == "False")
    assert running(p) and p.status.container_statuses[0].restart_count == 0


async def test_graceful_deletion_stops_containers_and_removes_the_pod(cluster: E2ENode) -> None:
    script = "trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"
    await cluster.client.create(busybox_pod("bye", cluster.node, {"main": script}))
    p, _ = await watch_pod(cluster.client, "bye", running)
    uid = p.metadata.uid
    assert engine_containers(cluster.engine, uid)
    await cluster.client.delete("Pod", "bye", "default", grace_period_seconds=10)

    async def gone() -> bool:
        try:
            await cluster.client.get("Pod", "bye", "default")
            return False
        except errors.NotFoundError:
            return True

    # The trap answers SIGTERM at once: far quicker than the grace period.
    await eventually(gone, timeout=8, interval=0.05)
    assert engine_containers(cluster.engine, uid) == {}
    events = await cluster.client.list("Event", "default")
    assert "Stopping container main" in {e.message for e in events.items if e.reason == "Killing"}


async def test_restarted_agent_adopts_its_pods(cluster: E2ENode) -> None:
    await cluster.client.create(busybox_pod("keep", cluster.node, {"a": SLEEP, "b": SLEEP}))
    before, _ = await watch_pod(cluster.client, "keep", running)
    uid = before.metadata.uid
    engine_before = engine_containers(cluster.engine, uid)
    await restart_agent(cluster)
    # A second pod running proves the new agent is syncing this node.
    await cluster.client.create(busybox_pod("later", cluster.node, {"main": SLEEP}))
    await watch_pod(cluster.client, "later", running)
    worker = cluster.agent.nodes[cluster.node].pods.workers.get(uid)
    assert worker is not None  # the new agent manages the old pod

    after = await cluster.client.get("Pod", "keep", "default")
    ids = lambda p: {c.name: (c.container_id, c.restart_count) for c in p.status.container_statuses}  # noqa: E731
    assert ids(after) == ids(before)
    assert all(count == 0 for _, count in ids(after).values())
    assert running(after) and condition(after, "Ready") == "True"
    assert engine_containers(cluster.engine, uid) == engine_before  # no duplicates, same ids
    assert set(engine_before.values()) == {"running"}
