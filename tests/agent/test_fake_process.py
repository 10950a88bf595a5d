"""The fake runtime models a container's main process: its command (after the
image's ENTRYPOINT/CMD) runs through the fake shell and the container exits
when it does, so restart policies and CrashLoopBackOff work on hollow nodes
as on Docker."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from shoal.client import Client
from shoal.plugins.runtimes.fake import FakeRuntime
from shoal.runtime import ContainerConfig, PodSandboxConfig

from tests.agent.conftest import StartAgent
from tests.integration.helpers import eventually, pod


async def _start(
    runtime: FakeRuntime,
    command: list[str] | None = None,
    args: list[str] | None = None,
    image: str = "busybox:1.36",
) -> str:
    sandbox = PodSandboxConfig(name="p", namespace="default", uid=str(uuid.uuid4()))
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    config = ContainerConfig(name="c", image=image, command=command or [], args=args or [])
    container_id = await runtime.create_container(sandbox_id, config, sandbox)
    await runtime.start_container(container_id)
    return container_id


async def _exited(runtime: FakeRuntime, container_id: str) -> tuple[int, str]:
    async def done() -> Any:
        status = await runtime.container_status(container_id)
        return status if status.state == "exited" else None

    status = await eventually(done, timeout=5)
    return status.exit_code, status.reason


async def _log(runtime: FakeRuntime, container_id: str) -> bytes:
    return b"".join([chunk async for chunk in runtime.logs(container_id)])


@pytest.mark.parametrize(
    ("command", "code", "reason", "log"),
    [
        (["sh", "-c", "exit 1"], 1, "Error", b""),
        (["sh", "-c", "exit 0"], 0, "Completed", b""),
        (["true"], 0, "Completed", b""),
        (["false"], 1, "Error", b""),
        (["echo", "hello", "world"], 0, "Completed", b"hello world\n"),
        (["sh", "-c", "sleep 0.01; exit 4"], 4, "Error", b""),
        (["sh", "-c", "echo a && sleep 0.01 && echo b; exit 2"], 2, "Error", b"a\nb\n"),
        (["sleep", "0.01"], 0, "Completed", b""),
        (["sh", "-c", "false && echo never"], 1, "Error", b""),
        (["sh", "-c", "exit 257"], 1, "Error", b""),
        (["sh", "-c", "exit nope"], 2, "Error", b"sh: exit: Illegal number: nope\n"),
        (["sh", "-c", "echo 'open"], 2, "Error", b"sh: syntax error: unterminated quoted string\n"),
    ],
)
async def test_main_process_exits_with_its_code(
    command: list[str], code: int, reason: str, log: bytes
) -> None:
    runtime = FakeRuntime()
    container_id = await _start(runtime, command)
    assert await _exited(runtime, container_id) == (code, reason)
    assert await _log(runtime, container_id) == log


@pytest.mark.parametrize(
    "command",
    [
        ["sleep", "3600"],
        ["sleep", "infinity"],
        ["httpd", "-f", "-p", "8080"],
        ["sh", "-c", "echo serving; exec httpd -f -p 80"],
        ["sh", "-c", "while true; do sleep 1; done"],
        [],  # the image's CMD, unknown here
    ],
)
async def test_long_running_processes_hold_no_thread(command: list[str]) -> None:
    runtime = FakeRuntime()
    threads = threading.active_count()
    container_id = await _start(runtime, command)
    for _ in range(5):  # let the main process run up to its wait
        await asyncio.sleep(0)
    status = await runtime.container_status(container_id)
    assert status.state == "running"
    assert threading.active_count() == threads  # an event-loop timer or future, no thread
    await runtime.stop_container(container_id, timeout=1)
    assert (await runtime.container_status(container_id)).exit_code == 143
    await runtime.close()


async def test_command_and_args_replace_entrypoint_and_cmd_as_on_docker() -> None:
    image = {"entrypoint": ["sh", "-c"], "cmd": ["exit 5"]}
    runtime = FakeRuntime({"images": {"tool:1": image}})
    cases: list[tuple[list[str], list[str], int]] = [
        ([], [], 5),  # ENTRYPOINT + CMD
        ([], ["exit 6"], 6),  # args replace CMD
        (["false"], [], 1),  # command replaces ENTRYPOINT and drops CMD
        (["sh", "-c"], ["exit 7"], 7),
    ]
    for command, args, code in cases:
        container_id = await _start(runtime, command, args, image="tool:1")
        assert (await _exited(runtime, container_id))[0] == code, (command, args)


def _image_archive(path: Path, tag: str, config: dict[str, Any]) -> None:
    files = {
        "manifest.json": [{"Config": "abc.json", "RepoTags": [tag], "Layers": []}],
        "abc.json": {"config": config},
    }
    with tarfile.open(path, "w") as tar:
        for name, content in files.items():
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


async def test_a_loaded_images_entrypoint_and_cmd_are_kept(tmp_path: Path) -> None:
    archive = tmp_path / "app.tar"
    _image_archive(archive, "local/app:1", {"Entrypoint": ["echo"], "Cmd": ["from", "cmd"]})
    runtime = FakeRuntime()
    assert await runtime.load_image(str(archive)) == ["local/app:1"]
    container_id = await _start(runtime, image="local/app:1")
    assert await _exited(runtime, container_id) == (0, "Completed")
    assert await _log(runtime, container_id) == b"from cmd\n"


async def _get(client: Client, name: str) -> Any:
    return await client.get("Pod", name)


def _running(command: str, policy: str, name: str) -> Any:
    p = pod(name, node="node-1", restartPolicy=policy)
    p.spec.containers[0].command.extend(["sh", "-c", command])
    return p


async def test_restart_policies_follow_the_command(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    await start_agent()
    await shoal_client.create(_running("exit 1", "Always", "crash"))
    await shoal_client.create(_running("exit 0", "OnFailure", "done"))
    await shoal_client.create(_running("exit 3", "Never", "failed"))

    async def looping() -> Any:
        p = await _get(shoal_client, "crash")
        c = p.status.container_statuses
        waiting = c and c[0].state.waiting.reason == "CrashLoopBackOff"
        return p if waiting and c[0].restart_count >= 1 else None

    p = await eventually(looping)
    first = p.status.container_statuses[0]
    assert first.last_state.terminated.exit_code == 1
    assert first.last_state.terminated.reason == "Error"

    async def restarted_again() -> bool:
        c = (await _get(shoal_client, "crash")).status.container_statuses
        return c[0].restart_count > first.restart_count

    await eventually(restarted_again, timeout=10)

    async def phase(name: str, want: str) -> Any:
        p = await _get(shoal_client, name)
        return p if p.status.phase == want else None

    done = await eventually(lambda: phase("done", "Succeeded"))
    assert done.status.container_statuses[0].state.terminated.reason == "Completed"
    failed = await eventually(lambda: phase("failed", "Failed"))
    (c,) = failed.status.container_statuses
    assert c.state.terminated.exit_code == 3 and c.restart_count == 0


@pytest.mark.parametrize(
    ("typed", "code", "out"),
    [
        (b"echo a; exit 3\n", 3, b"a\n"),  # exit after another command on the line
        (b"exit\n", 0, b""),
        (b"false\nexit\n", 1, b""),  # exit alone: the last command's code
        (b"exit 300\n", 44, b""),  # modulo 256, as sh
    ],
)
async def test_an_interactive_shell_ends_at_exit(typed: bytes, code: int, out: bytes) -> None:
    runtime = FakeRuntime()
    container_id = await _start(runtime, ["sleep", "infinity"])
    session = await runtime.exec(container_id, ["sh"], stdin=True, tty=False)
    await session.write(typed)  # stdin stays open: only exit ends the shell
    assert b"".join([data async for _, data in session.output()]) == out
    assert await session.wait() == code
    await runtime.close()
