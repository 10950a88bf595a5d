"""The runtime contract against real Docker and Podman (one suite, both engines)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from shoal.plugins.runtimes.images import BUSYBOX_IMAGE
from shoal.runtime import (
    ContainerConfig,
    ContainerNotFound,
    ContainerStatus,
    ImageError,
    PodSandboxConfig,
    RuntimeFailure,
)

from tests.e2e.engines import inspect, make_runtime, node_objects, sandbox_config
from tests.integration.helpers import eventually

pytestmark = pytest.mark.e2e

SERVE = "mkdir -p /www && echo pod-local > /www/index.html && exec httpd -f -p 8080 -h /www"
SLEEP = ["sh", "-c", "sleep 3600"]


def busybox(name: str, *argv: str, **kwargs: Any) -> ContainerConfig:
    command = ["sh", "-c", argv[0]] if len(argv) == 1 else list(argv)
    return ContainerConfig(name=name, image=BUSYBOX_IMAGE, command=command, **kwargs)


async def run(runtime: Any, sandbox_id: str, sandbox: PodSandboxConfig, c: ContainerConfig) -> str:
    container_id = await runtime.create_container(sandbox_id, c, sandbox)
    await runtime.start_container(container_id)
    return str(container_id)


async def exited(runtime: Any, container_id: str, timeout: float = 20.0) -> ContainerStatus:
    async def check() -> ContainerStatus | None:
        status = await runtime.container_status(container_id)
        return status if status.state == "exited" else None

    return await eventually(check, timeout, interval=0.05)


async def logs_of(runtime: Any, container_id: str, **kwargs: Any) -> bytes:
    return b"".join([chunk async for chunk in runtime.logs(container_id, **kwargs)])


async def pod(runtime: Any, **kwargs: Any) -> tuple[str, PodSandboxConfig]:
    config = sandbox_config(**kwargs)
    return await runtime.run_pod_sandbox(config), config


async def test_containers_of_a_pod_share_localhost(runtime: Any, engine: str) -> None:
    sandbox_id, sandbox = await pod(runtime)
    status = await runtime.pod_sandbox_status(sandbox_id)
    assert status.state == "ready" and status.ip and status.name == "web"
    await run(runtime, sandbox_id, sandbox, busybox("server", SERVE))
    client = await run(
        runtime, sandbox_id, sandbox, ContainerConfig("client", BUSYBOX_IMAGE, SLEEP)
    )

    async def fetched() -> bytes:
        result = await runtime.exec_sync(
            client, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], 5
        )
        return result.stdout if result.exit_code == 0 else b""

    assert await eventually(fetched, 20, interval=0.1) == b"pod-local\n"
    name = inspect(engine, client)["Name"].lstrip("/")
    assert name == f"k8s_client_web_e2e_{sandbox.uid}_0"
    assert f"k8s_POD_web_e2e_{sandbox.uid}_0" in node_objects(engine, runtime.node)


async def test_command_args_env_and_working_dir(runtime: Any) -> None:
    sandbox_id, sandbox = await pod(runtime)
    both = busybox("both", "sh", "-c", env={"GREETING": "hello"}, working_dir="/tmp")
    both.args = ['echo "$GREETING from $(pwd)"']
    # args alone replace the image's CMD ("sh"); command alone drops it.
    args_only = ContainerConfig("args", BUSYBOX_IMAGE, args=["echo", "only-args"])
    command_only = ContainerConfig("cmd", BUSYBOX_IMAGE, command=["echo", "cmd-only"])
    expected = {both.name: b"hello from /tmp\n", "args": b"only-args\n", "cmd": b"cmd-only\n"}
    for config in (both, args_only, command_only):
        container_id = await run(runtime, sandbox_id, sandbox, config)
        assert (await exited(runtime, container_id)).exit_code == 0
        assert await logs_of(runtime, container_id) == expected[config.name]


async def test_limits_are_visible_in_inspect(runtime: Any, engine: str) -> None:
    sandbox_id, sandbox = await pod(runtime)
    config = ContainerConfig("limited", BUSYBOX_IMAGE, SLEEP, cpu_millis=250, memory_bytes=64 << 20)
    host = inspect(engine, await run(runtime, sandbox_id, sandbox, config))["HostConfig"]
    assert host["Memory"] == 64 << 20
    nano = host.get("NanoCpus") or host["CpuQuota"] * 1_000_000_000 // host["CpuPeriod"]
    assert nano == 250_000_000


async def test_logs_tail_and_follow(runtime: Any) -> None:
    sandbox_id, sandbox = await pod(runtime)
    lines = await run(runtime, sandbox_id, sandbox, busybox("lines", "seq 1 5; sleep 3600"))
    await eventually(lambda: _has(runtime, lines, b"5\n"), 10)
    assert await logs_of(runtime, lines, tail=2) == b"4\n5\n"
    assert await logs_of(runtime, lines) == b"1\n2\n3\n4\n5\n"
    stamped = await logs_of(runtime, lines, tail=1, timestamps=True)
    assert stamped.endswith(b" 5\n") and stamped[:2] == b"20"

    ticker = busybox("ticker", "i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.1; done")
    ticker_id = await run(runtime, sandbox_id, sandbox, ticker)
    stream = runtime.logs(ticker_id, follow=True)
    seen = b""
    while b"tick3\n" not in seen:
        seen += await asyncio.wait_for(anext(stream), 10)
    await stream.aclose()
    assert seen.startswith(b"tick1\ntick2\n")


async def _has(runtime: Any, container_id: str, text: bytes) -> bool:
    return text in await logs_of(runtime, container_id)


async def test_exec_sync_exit_codes_output_and_timeout(runtime: Any) -> None:
    sandbox_id, sandbox = await pod(runtime)
    container_id = await run(
        runtime, sandbox_id, sandbox, ContainerConfig("c", BUSYBOX_IMAGE, SLEEP)
    )
    result = await runtime.exec_sync(
        container_id, ["sh", "-c", "echo out; echo err >&2; exit 3"], 5
    )
    assert (result.exit_code, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
    assert (await runtime.exec_sync(container_id, ["true"], 5)).exit_code == 0
    with pytest.raises(RuntimeFailure) as failure:
        await runtime.exec_sync(container_id, ["sleep", "30"], 0.5)
    assert failure.value.reason == "Timeout"
    await runtime.stop_container(container_id, 0)
    with pytest.raises(RuntimeFailure):
        await runtime.exec_sync(container_id, ["true"], 5)


async def test_interactive_exec_with_stdin_and_tty(runtime: Any) -> None:
    sandbox_id, sandbox = await pod(runtime)
    container_id = await run(
        runtime, sandbox_id, sandbox, ContainerConfig("c", BUSYBOX_IMAGE, SLEEP)
    )
    session = await runtime.exec(
        container_id, ["sh", "-c", "cat; echo bye >&2"], stdin=True, tty=False
    )
    await session.write(b"through stdin\n")
    await session.close_stdin()
    out = [chunk async for chunk in session.output()]
    assert ("stdout", b"through stdin\n") in out and ("stderr", b"bye\n") in out
    assert await session.wait() == 0

    tty = await runtime.exec(container_id, ["sh"], stdin=True, tty=True)
    await tty.resize(100, 40)
    await tty.write(b"stty size; exit 5\n")
    text = b"".join([chunk async for _, chunk in tty.output()])
    assert b"40 100" in text
    assert await tty.wait() == 5


async def test_stop_honours_the_grace_period(runtime: Any) -> None:
    sandbox_id, sandbox = await pod(runtime)
    polite = busybox("polite", 'trap "exit 0" TERM; echo ready; while :; do sleep 1 & wait; done')
    stubborn = busybox("stubborn", 'trap "" TERM; echo ready; while :; do sleep 1; done')
    polite_id = await run(runtime, sandbox_id, sandbox, polite)
    stubborn_id = await run(runtime, sandbox_id, sandbox, stubborn)
    for container_id in (polite_id, stubborn_id):  # "ready": the trap is set
        await eventually(lambda c=container_id: _has(runtime, c, b"ready\n"), 10)
    await runtime.stop_container(polite_id, 30)
    status = await runtime.container_status(polite_id)
    assert (status.state, status.exit_code, status.reason) == ("exited", 0, "Completed")
    asked = time.time()
    await runtime.stop_container(stubborn_id, 1)
    status = await runtime.container_status(stubborn_id)
    assert (status.state, status.exit_code, status.reason) == ("exited", 137, "Error")
    assert status.finished_at >= asked + 0.9  # it was given the grace period first


async def test_exit_codes_and_reasons(runtime: Any, engine: str) -> None:
    sandbox_id, sandbox = await pod(runtime)
    ok = await exited(runtime, await run(runtime, sandbox_id, sandbox, busybox("ok", "exit 0")))
    assert (ok.exit_code, ok.reason, ok.attempt) == (0, "Completed", 0)
    assert ok.started_at and ok.finished_at >= ok.started_at >= ok.created_at > 0
    bad = await exited(runtime, await run(runtime, sandbox_id, sandbox, busybox("bad", "exit 7")))
    assert (bad.exit_code, bad.reason) == (7, "Error")
    hog = busybox("hog", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}")
    hog.memory_bytes = 16 << 20
    oom = await exited(runtime, await run(runtime, sandbox_id, sandbox, hog), 60)
    assert oom.exit_code == 137
    if engine == "podman" and oom.reason == "Error":
        # Measured: conmon 2.1.6 sees the OOM kill and touches "oom" in its own
        # working directory, the service's, as Podman 4.3 passes it no
        # --persist-dir; Podman reads <bundle>/oom, finds none, and inspect says
        # State.OOMKilled false, ExitCode 137. Where the service runs changes
        # nothing. Docker reports OOMKilled; docs/runtimes.md.
        pytest.xfail(
            "Podman 4.3.1 + conmon 2.1.6 + runc on cgroup v1: inspect reports OOMKilled false "
            "(exit 137) because conmon writes its oom marker into the service's working "
            "directory, not the bundle dir Podman 4.3 reads"
        )
    assert oom.reason == "OOMKilled"


async def test_pull_policy_never_names_the_image(runtime: Any) -> None:
    with pytest.raises(ImageError) as failure:
        await runtime.ensure_image("shoal.local/absent:1", "Never")
    assert failure.value.reason == "ErrImageNeverPull"
    assert str(failure.value) == 'image "shoal.local/absent:1" not present and pull policy is Never'
    image_id = await runtime.ensure_image(BUSYBOX_IMAGE, "Never")
    assert image_id == await runtime.ensure_image(BUSYBOX_IMAGE, "IfNotPresent")
    assert any(BUSYBOX_IMAGE in image.tags for image in await runtime.list_images())


async def test_restart_creates_the_next_attempt(runtime: Any, engine: str) -> None:
    sandbox_id, sandbox = await pod(runtime)
    first = await run(runtime, sandbox_id, sandbox, busybox("app", "exit 1"))
    await exited(runtime, first)
    second = await run(runtime, sandbox_id, sandbox, busybox("app", "exit 0", attempt=1))
    status = await exited(runtime, second)
    assert status.attempt == 1 and status.name == "app"
    names = {inspect(engine, c)["Name"].lstrip("/") for c in (first, second)}
    assert names == {f"k8s_app_web_e2e_{sandbox.uid}_0", f"k8s_app_web_e2e_{sandbox.uid}_1"}
    listed = await runtime.list_containers(sandbox_id)
    assert sorted(c.attempt for c in listed) == [0, 1]


async def test_a_new_runtime_adopts_by_labels(runtime: Any, engine: str) -> None:
    sandbox_id, sandbox = await pod(runtime, labels={"app": "shop"})
    container_id = await run(
        runtime, sandbox_id, sandbox, ContainerConfig("c", BUSYBOX_IMAGE, SLEEP)
    )
    again = make_runtime(engine, runtime.node)
    stranger = make_runtime(engine, runtime.node + "-other")
    try:
        [found] = await again.list_pod_sandboxes()
        assert (found.id, found.uid, found.state) == (sandbox_id, sandbox.uid, "ready")
        assert found.labels["app"] == "shop"
        [container] = await again.list_containers()
        assert (container.id, container.sandbox_id, container.state) == (
            container_id,
            sandbox_id,
            "running",
        )
        assert await stranger.list_pod_sandboxes() == []
    finally:
        await again.close()
        await stranger.close()


async def test_port_forward_reaches_the_pod(runtime: Any) -> None:
    sandbox_id, sandbox = await pod(runtime)
    await run(runtime, sandbox_id, sandbox, busybox("server", SERVE))

    async def get() -> bytes:
        try:
            reader, writer = await runtime.port_forward(sandbox_id, 8080)
        except OSError:
            return b""
        writer.write(b"GET /index.html HTTP/1.0\r\n\r\n")
        body = await reader.read()
        writer.close()
        return body

    assert (await eventually(get, 20, interval=0.1)).endswith(b"\r\n\r\npod-local\n")


async def test_removing_the_sandbox_leaves_nothing(runtime: Any, engine: str) -> None:
    sandbox_id, sandbox = await pod(runtime)
    container_id = await run(
        runtime, sandbox_id, sandbox, ContainerConfig("c", BUSYBOX_IMAGE, SLEEP)
    )
    await runtime.stop_pod_sandbox(sandbox_id)
    assert (await runtime.pod_sandbox_status(sandbox_id)).state == "notready"
    assert (await runtime.container_status(container_id)).state == "exited"
    await runtime.remove_pod_sandbox(sandbox_id)
    await runtime.remove_pod_sandbox(sandbox_id)  # idempotent
    assert await runtime.list_pod_sandboxes() == []
    assert node_objects(engine, runtime.node) == []
    with pytest.raises(ContainerNotFound):
        await runtime.container_status(container_id)
