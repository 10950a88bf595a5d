"""Real kubectl attach and kubectl run -i through the gateway, over
WebSockets (kubectl 1.32's default) and SPDY, against hollow nodes whose
fake containers run a shell on their stdin."""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any

import pytest

from tests.gateway.conftest import KUBECTL, GatewayCluster
from tests.integration.helpers import eventually

pytestmark = pytest.mark.usefixtures("needs_kubectl")


def shell_pod(name: str, **container: object) -> str:
    spec = {"name": "shell", "image": "busybox", "command": ["sh"], "stdin": True, **container}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [spec], "restartPolicy": "Never"},
        }
    )


async def _running(gateway_cluster: GatewayCluster, name: str) -> None:
    client = gateway_cluster.cluster.client

    async def running() -> bool:
        return (await client.get("Pod", name, "default")).status.phase == "Running"

    await eventually(running, timeout=30)


async def _terminated(gateway_cluster: GatewayCluster, name: str) -> Any:
    client = gateway_cluster.cluster.client

    async def terminated() -> Any:
        statuses = (await client.get("Pod", name, "default")).status.container_statuses
        if statuses and statuses[0].state.HasField("terminated"):
            return statuses[0].state.terminated
        return None

    return await eventually(terminated, timeout=30)


@pytest.mark.parametrize("websockets", ["true", "false"], ids=["websocket", "spdy"])
async def test_kubectl_attach_types_into_the_container(
    gateway_cluster: GatewayCluster, websockets: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", websockets)
    k = gateway_cluster.kubectl
    created = await k("apply", "-f", "-", input=shell_pod("talk", stdinOnce=True))
    assert created.code == 0, created.err
    await _running(gateway_cluster, "talk")
    said = await k("attach", "-i", "talk", "-v=6", input="echo hello-attach\nexit 3\n")
    assert "hello-attach\n" in said.out, said.err
    assert "/api/v1/namespaces/default/pods/talk/attach?" in said.err
    assert (await _terminated(gateway_cluster, "talk")).exit_code == 3
    gone = await k("attach", "nope")
    assert gone.code != 0 and 'pods "nope" not found' in gone.err


async def test_kubectl_attach_without_stdin_streams_the_output(
    gateway_cluster: GatewayCluster,
) -> None:
    ticker = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "ticker", "annotations": {"fake.shoal.io/log-every": "0.05"}},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }
    created = await gateway_cluster.kubectl("apply", "-f", "-", input=json.dumps(ticker))
    assert created.code == 0, created.err
    await _running(gateway_cluster, "ticker")
    home = gateway_cluster.home
    proc = await asyncio.create_subprocess_exec(
        str(KUBECTL), "--server", gateway_cluster.url, "attach", "ticker",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HOME": str(home), "KUBECONFIG": str(home / "none")},
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert re.fullmatch(rb"tick \d+\n", line), line
    finally:
        proc.kill()
        await proc.wait()


async def test_kubectl_run_interactive_and_removed(gateway_cluster: GatewayCluster) -> None:
    k = gateway_cluster.kubectl
    ran = await k(
        "run", "oneoff", "-i", "--rm", "--restart=Never", "--image=busybox", "--", "sh",
        input="echo from-run\nexit 0\n",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert "from-run\n" in ran.out
    assert 'pod "oneoff" deleted' in ran.out + ran.err
    client = gateway_cluster.cluster.client

    async def deleted() -> bool:
        return "oneoff" not in [
            p.metadata.name for p in (await client.list("Pod", "default")).items
        ]

    await eventually(deleted, timeout=30)
