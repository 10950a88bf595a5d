"""Real kubectl port-forward through the gateway: SPDY/3.1 tunnelled in a
WebSocket (kubectl 1.31+'s default) and the plain SPDY upgrade
(KUBECTL_PORT_FORWARD_WEBSOCKETS=false), to a hollow node's pod whose
"application" is a loopback HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.gateway.conftest import KUBECTL, GatewayCluster
from tests.gateway.test_tutorial import _running_pod, app_port  # noqa: F401 (a fixture)

FORWARDING = re.compile(rb"Forwarding from 127\.0\.0\.1:(\d+) ->")


@contextlib.asynccontextmanager
async def port_forward(
    gc: GatewayCluster, *args: str, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[int, asyncio.subprocess.Process]]:
    """kubectl port-forward running until the block ends; yields the local port
    once kubectl says it is forwarding."""
    environ = {
        **os.environ,
        "HOME": str(gc.home),
        "KUBECONFIG": str(gc.home / "none"),
        **(env or {}),
    }
    proc = await asyncio.create_subprocess_exec(
        str(KUBECTL), "--server", gc.url, "port-forward", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environ,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        seen = b""
        async with asyncio.timeout(30):
            while (found := FORWARDING.search(seen)) is None:
                line = await proc.stdout.readline()
                if not line:
                    err = await proc.stderr.read()
                    pytest.fail(f"kubectl port-forward ended: {seen!r} {err!r}")
                seen += line
        yield int(found.group(1)), proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def _get(port: int, path: str) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(20)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"http://127.0.0.1:{port}{path}") as r,
    ):
        return r.status, await r.text()


@pytest.mark.parametrize("websockets", ["true", "false"], ids=["tunnelled", "plain-spdy"])
async def test_kubectl_port_forward(
    gateway_cluster: GatewayCluster,
    app_port: int,  # noqa: F811 (the fixture imported above)
    needs_kubectl: str,
    websockets: str,
) -> None:
    await _running_pod(gateway_cluster, "fwd", app_port)
    env = {"KUBECTL_PORT_FORWARD_WEBSOCKETS": websockets}
    args = ("pod/fwd", f":{app_port}", "-v=6")  # -v=6: kubectl logs each request's answer
    async with port_forward(gateway_cluster, *args, env=env) as (local, proc):
        for i in range(3):  # each connection is a new pair of streams on the one SPDY session
            assert await _get(local, f"/through/{i}") == (200, f"hello from GET /through/{i}")
        big = b"a" * (1 << 20)  # far past SPDY's 64 KiB window, both ways
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"http://127.0.0.1:{local}/big", data=big) as r,
        ):
            assert await r.read() == b"hello from POST /big " + big
        assert proc.returncode is None
    assert proc.stderr is not None
    log = (await proc.stderr.read()).decode()
    method = "GET" if websockets == "true" else "POST"  # the tunnel is a WebSocket: a GET
    assert (
        f"{method} {gateway_cluster.url}/api/v1/namespaces/default/pods/fwd/portforward 101" in log
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_kubectl_port_forward_reports_the_pods_error(
    gateway_cluster: GatewayCluster,
    app_port: int,  # noqa: F811
    needs_kubectl: str,
) -> None:
    """Nothing listens on the port: the error goes back on the error stream,
    and kubectl 1.32 gives up on the connection, as with a kubelet."""
    await _running_pod(gateway_cluster, "fwd", app_port)
    port = _closed_port()
    async with port_forward(gateway_cluster, "pod/fwd", f":{port}") as (local, proc):
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            await _get(local, "/")
        assert proc.stderr is not None
        async with asyncio.timeout(30):
            err = await proc.stderr.read()  # kubectl exits: lost connection to pod
        await proc.wait()
    assert f"error forwarding port {port} to pod fwd, uid " in err.decode()
    assert proc.returncode != 0


async def test_spdy_upgrade_negotiation(gateway_cluster: GatewayCluster) -> None:
    path = "/api/v1/namespaces/default/pods/{}/portforward"
    headers = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1"}
    async with gateway_cluster.http.post(path.format("nope"), headers=headers) as r:
        assert r.status == 404 and (await r.json())["reason"] == "NotFound"
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    async with gateway_cluster.http.post("/api/v1/namespaces/default/pods", json=pod) as made:
        assert made.status == 201, await made.text()
    async with gateway_cluster.http.post(path.format("p"), headers=headers) as r:
        body = await r.json()
        assert r.status == 400 and "X-Stream-Protocol-Version is required" in body["message"]
    v9 = {**headers, "X-Stream-Protocol-Version": "v9.portforward.k8s.io"}
    async with gateway_cluster.http.post(path.format("p"), headers=v9) as r:
        body = await r.json()
        assert r.status == 403 and body["reason"] == "Forbidden"
        assert "unable to negotiate protocol" in body["message"]
