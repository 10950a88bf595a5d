"""Real kubectl 1.32 through the gateway to a real agent on Docker and
Podman: ``kubectl cp`` both ways (tar over exec, the upload's end of stdin
carried to tar), over WebSockets and SPDY, and ``kubectl attach`` to a
container's shell."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from shoal.plugins.gateway import Gateway

from tests.e2e.agents import E2ENode, busybox_pod, exec_in, start_node, stop_node, watch_pod
from tests.e2e.test_agent_engines import SLEEP, running
from tests.gateway.conftest import KUBECTL, Run, needs_kubectl, run_kubectl

__all__ = ["needs_kubectl"]  # the fixture
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_kubectl")]


@dataclass
class KubectlNode:
    node: E2ENode
    url: str
    home: Path

    async def kubectl(self, *args: str, input: str | None = None) -> Run:
        return await run_kubectl(self.url, self.home, *args, input=input)


@pytest_asyncio.fixture
async def cluster(engine: str, node_name: str, tmp_path: Path) -> AsyncIterator[KubectlNode]:
    node = await start_node(engine, node_name, tmp_path)
    gateway = Gateway(node.client)
    try:
        await gateway.start("127.0.0.1:0")
        home = tmp_path / "home"
        home.mkdir()
        yield KubectlNode(node, gateway.url, home)
    finally:
        await gateway.stop()
        await stop_node(node)


@pytest.mark.parametrize("websockets", ["true", "false"], ids=["websocket", "spdy"])
async def test_kubectl_cp_both_ways(
    cluster: KubectlNode, tmp_path: Path, websockets: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", websockets)
    node = cluster.node
    await node.client.create(busybox_pod("files", node.node, {"main": SLEEP}))
    await watch_pod(node.client, "files", running)
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("alpha\n")
    blob = os.urandom(3 << 20)  # several SPDY/WebSocket frames and gRPC messages
    (tree / "sub" / "blob.bin").write_bytes(blob)

    up = await cluster.kubectl("cp", str(tree), "default/files:/tmp/tree")
    assert up.code == 0, up.err
    code, out, err = await exec_in(node.streams, "files", "", ["sh", "-c", "cat /tmp/tree/a.txt"])
    assert (code, out) == (0, b"alpha\n"), err
    code, out, _ = await exec_in(node.streams, "files", "", ["md5sum", "/tmp/tree/sub/blob.bin"])
    assert out.split()[0].decode() == hashlib.md5(blob).hexdigest()

    single = tmp_path / "one.txt"
    single.write_text("just one\n")
    assert (await cluster.kubectl("cp", str(single), "files:/tmp/one.txt")).code == 0
    back = tmp_path / "back"
    down = await cluster.kubectl("cp", "files:/tmp/tree", str(back))
    assert down.code == 0, down.err
    assert (back / "a.txt").read_text() == "alpha\n"
    assert (back / "sub" / "blob.bin").read_bytes() == blob
    file_back = await cluster.kubectl("cp", "files:/tmp/one.txt", str(tmp_path / "one-back.txt"))
    assert file_back.code == 0, file_back.err
    assert (tmp_path / "one-back.txt").read_text() == "just one\n"
    # kubectl itself may end before tar's complaint and exit code arrive
    # (its untar finishes on tar's empty archive): only nothing is made.
    await cluster.kubectl("cp", "files:/tmp/nope", str(tmp_path / "nope"))
    assert not (tmp_path / "nope").exists()


async def test_kubectl_attach_to_a_shell(cluster: KubectlNode) -> None:
    node = cluster.node
    pod = busybox_pod("shell", node.node, {"shell": ""}, restartPolicy="Never")
    shell = pod.spec.containers[0]
    del shell.command[:]
    shell.command.append("sh")
    shell.stdin = shell.stdin_once = True
    await node.client.create(pod)
    await watch_pod(node.client, "shell", running)
    said = await cluster.kubectl("attach", "-i", "shell", input="echo attached-$((6*7))\nexit 3\n")
    assert "attached-42\n" in said.out, said.err

    def exited(p: object) -> bool:
        statuses = p.status.container_statuses  # type: ignore[attr-defined]
        return bool(statuses) and statuses[0].state.HasField("terminated")

    done, _ = await watch_pod(node.client, "shell", exited)
    assert done.status.container_statuses[0].state.terminated.exit_code == 3


async def shoal(node: E2ENode, *args: str, input: bytes = b"") -> tuple[int, str, str]:
    """The ``shoal`` command line, as a user runs it, against the node's server."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shoal.ctl.main", "--server", f"127.0.0.1:{node.server.port}", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(input), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_shoal_cp_and_attach(cluster: KubectlNode, tmp_path: Path) -> None:
    node = cluster.node
    pod = busybox_pod("both", node.node, {"shell": ""}, restartPolicy="Never")
    shell = pod.spec.containers[0]
    del shell.command[:]
    shell.command.append("sh")
    shell.stdin = shell.stdin_once = True
    await node.client.create(pod)
    await watch_pod(node.client, "both", running)
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "b.txt").write_text("beta\n")
    blob = os.urandom(1 << 20)
    (tree / "blob.bin").write_bytes(blob)
    assert (await shoal(node, "cp", str(tree), "both:/tmp"))[0] == 0  # into a directory
    code, out, err = await exec_in(node.streams, "both", "", ["cat", "/tmp/tree/sub/b.txt"])
    assert (code, out) == (0, b"beta\n"), err
    assert (await shoal(node, "cp", str(tree / "sub" / "b.txt"), "default/both:/tmp/c.txt"))[0] == 0
    down = tmp_path / "down"
    code, _, err = await shoal(node, "cp", "both:/tmp/tree", str(down))
    assert code == 0, err
    assert (down / "blob.bin").read_bytes() == blob and (down / "sub" / "b.txt").exists()
    code, _, err = await shoal(node, "cp", "both:/tmp/c.txt", str(tmp_path))  # into a directory
    assert code == 0 and (tmp_path / "c.txt").read_text() == "beta\n", err
    code, _, err = await shoal(node, "cp", "both:/tmp/nope", str(tmp_path / "nope"))
    assert code == 1 and "No such file or directory" in err and "Traceback" not in err
    code, _, err = await shoal(node, "cp", str(tree), str(tmp_path / "elsewhere"))
    assert code == 2 and "one of SOURCE and DEST must be POD:PATH" in err

    code, out, err = await shoal(
        node, "attach", "-i", "both", input=b"echo via-$((40+2))\nexit 6\n"
    )
    assert code == 0 and "via-42\n" in out, err

    def exited(p: object) -> bool:
        statuses = p.status.container_statuses  # type: ignore[attr-defined]
        return bool(statuses) and statuses[0].state.HasField("terminated")

    done, _ = await watch_pod(node.client, "both", exited)
    assert done.status.container_statuses[0].state.terminated.exit_code == 6


@pytest.mark.parametrize("tool", ["shoal", "kubectl"])
async def test_attach_without_stdin_streams_the_output(cluster: KubectlNode, tool: str) -> None:
    """No stdin: the attach must not end (or end the process's stdin) when
    the caller's input stream does, as ``shoal attach``'s does at once."""
    node = cluster.node
    ticks = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done"
    await node.client.create(busybox_pod("ticker", node.node, {"main": ticks}))
    await watch_pod(node.client, "ticker", running)
    if tool == "shoal":
        argv = [sys.executable, "-m", "shoal.ctl.main", "--server", f"127.0.0.1:{node.server.port}"]
        env = dict(os.environ)
    else:
        argv = [str(KUBECTL), "--server", cluster.url]
        env = {**os.environ, "HOME": str(cluster.home), "KUBECONFIG": str(cluster.home / "none")}
    proc = await asyncio.create_subprocess_exec(
        *argv, "attach", "ticker", stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        seen = [await asyncio.wait_for(proc.stdout.readline(), 30) for _ in range(3)]
        assert all(line.startswith(b"tick ") for line in seen), seen
    finally:
        proc.kill()
        await proc.wait()
