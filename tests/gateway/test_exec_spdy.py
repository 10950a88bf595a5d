"""Real kubectl exec over SPDY/3.1 (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false,
as older kubectls and clients do): stdout, stdin, exit codes."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import GatewayCluster
from tests.integration.helpers import eventually


async def test_kubectl_exec_over_spdy(
    gateway_cluster: GatewayCluster, needs_kubectl: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "false")
    k = gateway_cluster.kubectl
    await k("run", "box", "--image=busybox", "--", "sleep", "3600")
    client = gateway_cluster.cluster.client

    async def running() -> bool:
        return (await client.get("Pod", "box", "default")).status.phase == "Running"

    await eventually(running, timeout=30)
    said = await k("exec", "box", "-v=6", "--", "echo", "hi", "there")
    assert said.code == 0 and said.out == "hi there\n", said.err
    url = f"POST {gateway_cluster.url}/api/v1/namespaces/default/pods/box/exec?command=echo"
    assert url in said.err and "101 Switching Protocols" in said.err  # SPDY, not a WebSocket
    failed = await k("exec", "box", "--", "sh", "-c", "cat /nope; exit 3")
    assert failed.code == 3 and "command terminated with exit code 3" in failed.err
    assert "cat: can't open '/nope'" in failed.err  # the stderr stream
    typed = await k("exec", "-i", "box", "--", "cat", input="line one\nline two\n")
    assert typed.code == 0 and typed.out == "line one\nline two\n", typed.err
    missing = await k("exec", "nope", "--", "true")
    assert missing.code != 0 and 'pods "nope" not found' in missing.err
