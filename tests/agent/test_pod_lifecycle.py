"""Pods on a fake-runtime agent: running, crashing, probes, deletion, adoption."""

from __future__ import annotations

import asyncio
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
    state = p.status.container_statuses[index].state
    return next((f for f in ("waiting", "running", "terminated") if state.HasField(f)), "")


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


async def test_crashing_container_backs_off_into_crash_loop(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    await start_agent()
    crashing = pod("crash", node="node-1")
    crashing.metadata.annotations["fake.shoal.io/exit-code"] = "3"
    await shoal_client.create(crashing)

    async def looping() -> Any:
        p = await _get(shoal_client, "crash")
        c = p.status.container_statuses
        return p if c and c[0].state.waiting.reason == "CrashLoopBackOff" else None

    p = await eventually(looping)
    c = p.status.container_statuses[0]
    assert c.restart_count >= 1
    assert "back-off" in c.state.waiting.message and "container=main" in c.state.waiting.message
    assert c.last_state.terminated.exit_code == 3
    assert c.last_state.terminated.reason == "Error"
    assert p.status.phase == "Running" and not c.ready
    # it keeps restarting, further apart each time
    await eventually(
        lambda: _restarts_at_least(shoal_client, "crash", c.restart_count + 1), timeout=10
    )
    events = await shoal_client.list("Event", "default")
    assert "BackOff" in {e.reason for e in events.items}


async def _restarts_at_least(client: Client, name: str, count: int) -> bool:
    p = await _get(client, name)
    return (
        bool(p.status.container_statuses) and p.status.container_statuses[0].restart_count >= count
    )


async def test_restart_policy_never_and_on_failure_finish_the_pod(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    await start_agent()
    done = pod("done", node="node-1", restartPolicy="OnFailure")
    done.metadata.annotations["fake.shoal.io/exit-code"] = "0"
    failed = pod("failed", node="node-1", restartPolicy="Never")
    failed.metadata.annotations["fake.shoal.io/exit-code"] = "1"
    await shoal_client.create(done)
    await shoal_client.create(failed)

    async def phase(name: str, want: str) -> bool:
        return (await _get(shoal_client, name)).status.phase == want

    await eventually(lambda: phase("done", "Succeeded"))
    await eventually(lambda: phase("failed", "Failed"))
    p = await _get(shoal_client, "failed")
    term = p.status.container_statuses[0].state.terminated
    assert term.exit_code == 1 and term.reason == "Error"
    assert p.status.container_statuses[0].restart_count == 0


async def test_a_command_that_ends_at_once_goes_from_pending_to_succeeded(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    """As on Docker or Podman, ``echo ok`` has exited by the agent's look
    after starting it: the pod's status is written Succeeded without a
    Running in between (one status write fewer per batch pod)."""
    agent = await start_agent()
    watch = shoal_client.watch("Pod", "default")
    quick = pod("quick", node="node-1", restartPolicy="Never")
    quick.spec.containers[0].command.extend(["sh", "-c", "echo ok"])
    await shoal_client.create(quick)
    phases: list[str] = []

    async def follow() -> None:
        async for event in watch:
            if event.object is not None and event.object.metadata.name == "quick":
                phases.append(event.object.status.phase)
                if event.object.status.phase == "Succeeded":
                    return

    await asyncio.wait_for(follow(), 10)
    assert "Running" not in phases, phases
    p = await _get(shoal_client, "quick")
    assert p.status.container_statuses[0].state.terminated.reason == "Completed"
    runtime: FakeRuntime = agent.nodes["node-1"].runtime  # type: ignore[assignment]
    (container,) = runtime.containers.values()
    assert b"ok\n" in b"".join(chunk for _, chunk in container.log)


async def test_a_finished_pods_sandbox_stops_and_its_containers_stay(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    """As the kubelet stops a terminal pod's sandbox: a finished Job pod
    kept its pause container (and, on hollow nodes, its address) until the
    pod was deleted. Its exited containers stay, so its logs still read."""
    agent = await start_agent()
    done = pod("finished", node="node-1", restartPolicy="Never")
    done.spec.containers[0].command.extend(["sh", "-c", "echo ok"])
    uid = (await shoal_client.create(done)).metadata.uid
    runtime: FakeRuntime = agent.nodes["node-1"].runtime  # type: ignore[assignment]

    def stopped() -> bool:
        mine = [s for s, _ in runtime.sandboxes.values() if s.uid == uid]
        return bool(mine) and all(s.state == "notready" for s in mine)

    await eventually(stopped)
    p = await _get(shoal_client, "finished")
    assert p.status.phase == "Succeeded" and p.status.pod_ip
    (container,) = runtime.containers.values()
    assert container.status.state == "exited" and container.status.exit_code == 0
    assert b"ok\n" in b"".join([chunk async for chunk in runtime.logs(container.status.id)])


async def test_failing_liveness_probe_restarts(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    await start_agent()
    probe = {
        "exec": {"command": ["cat", "/tmp/healthy"]},
        "periodSeconds": 1,
        "failureThreshold": 1,
    }
    p = pod("live", node="node-1")
    p.spec.containers[0].liveness_probe.CopyFrom(_probe(probe))
    await shoal_client.create(p)
    await eventually(lambda: _restarts_at_least(shoal_client, "live", 1))
    events = (await shoal_client.list("Event", "default")).items
    reasons = {(e.reason, e.message) for e in events}
    assert ("Killing", "Container main failed liveness probe, will be restarted") in reasons
    assert any(
        r == "Unhealthy" and m.startswith("Liveness probe failed: cat: can't open")
        for r, m in reasons
    )


def _probe(spec: dict[str, Any]) -> Any:
    from google.protobuf import json_format
    from shoal.api.v1 import core_pb2

    return json_format.ParseDict(spec, core_pb2.Probe())


async def test_readiness_probe_gates_ready(shoal_client: Client, start_agent: StartAgent) -> None:
    runtime = FakeRuntime()
    await start_agent(runtime=runtime)
    p = pod("ready", node="node-1")
    p.spec.containers[0].readiness_probe.CopyFrom(
        _probe(
            {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1, "failureThreshold": 1}
        )
    )
    await shoal_client.create(p)

    async def running_not_ready() -> Any:
        got = await _get(shoal_client, "ready")
        return got if _state(got) == "running" else None

    got = await eventually(running_not_ready)
    assert not got.status.container_statuses[0].ready
    assert {c.type: c.status for c in got.status.conditions}["Ready"] == "False"
    container_id = next(iter(runtime.containers))
    await runtime.exec_sync(container_id, ["touch", "/tmp/ready"], 1)

    async def ready() -> bool:
        got = await _get(shoal_client, "ready")
        return {c.type: c.status for c in got.status.conditions}.get("Ready") == "True"

    await eventually(ready)
    assert (await _get(shoal_client, "ready")).status.container_statuses[0].restart_count == 0


async def test_deletion_is_graceful(shoal_client: Client, start_agent: StartAgent) -> None:
    runtime = FakeRuntime()
    await start_agent(runtime=runtime)
    p = pod("slow", node="node-1", terminationGracePeriodSeconds=1)
    p.metadata.annotations["fake.shoal.io/ignore-sigterm"] = "true"
    await shoal_client.create(p)
    await eventually(lambda: _is_running(shoal_client, "slow"))
    (container,) = runtime.containers.values()
    deleted = await shoal_client.delete("Pod", "slow")
    assert deleted.metadata.HasField("deletion_timestamp")  # held for the agent
    await eventually(lambda: _gone(shoal_client, "slow"))
    # SIGTERM was ignored, so the grace period ran out and SIGKILL ended it
    assert container.status.state == "exited" and container.status.exit_code == 137
    assert runtime.sandboxes == {} and runtime.containers == {}
    reasons = {e.reason for e in (await shoal_client.list("Event", "default")).items}
    assert "Killing" in reasons


async def test_a_deleted_pod_ends_in_a_terminal_phase(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    """As the kubelet since Kubernetes 1.27: once a deleted pod's containers
    have stopped, its status says Failed (a container killed is not a
    success), whatever its restart policy; a finalizer keeps it to be read."""
    await start_agent()
    p = pod("held", node="node-1")
    p.metadata.finalizers.append("example.com/hold")
    await shoal_client.create(p)
    await eventually(lambda: _is_running(shoal_client, "held"))
    await shoal_client.delete("Pod", "held", grace_period_seconds=1)

    async def terminal() -> Any:
        got = await _get(shoal_client, "held")
        return got if got.status.phase in ("Succeeded", "Failed") else None

    ended = await eventually(terminal, timeout=15)
    assert ended.spec.restart_policy == "Always" and ended.status.phase == "Failed"
    [status] = ended.status.container_statuses
    assert status.state.HasField("terminated") and not status.ready
    assert status.state.terminated.exit_code != 0
    ended.metadata.ClearField("finalizers")
    await shoal_client.update(ended)
    await eventually(lambda: _gone(shoal_client, "held"))


async def _is_running(client: Client, name: str) -> bool:
    return (await _get(client, name)).status.phase == "Running"


async def _gone(client: Client, name: str) -> bool:
    from shoal import errors

    try:
        await _get(client, name)
    except errors.NotFoundError:
        return True
    return False


async def test_agent_restart_adopts_its_pods(shoal_client: Client, start_agent: StartAgent) -> None:
    runtime = FakeRuntime()
    first = await start_agent(runtime=runtime)
    await shoal_client.create(pod("keep", node="node-1"))
    await eventually(lambda: _is_running(shoal_client, "keep"))
    before = dict(runtime.containers)
    await first.stop()
    # while the agent is away its pod is deleted for good: a leftover sandbox
    await shoal_client.create(pod("orphan", node="node-1"))
    await runtime.run_pod_sandbox(
        __import__("shoal.agent.containers", fromlist=["x"]).sandbox_config(
            await _get(shoal_client, "orphan"), "node-1"
        )
    )
    await shoal_client.delete("Pod", "orphan", grace_period_seconds=0)
    await start_agent(runtime=runtime)
    await eventually(lambda: len(runtime.sandboxes) == 1)
    p = await _get(shoal_client, "keep")
    assert p.status.phase == "Running"
    assert p.status.container_statuses[0].restart_count == 0
    assert runtime.containers.keys() == before.keys()  # no duplicates, no restarts
    assert all(c.status.state == "running" for c in runtime.containers.values())
