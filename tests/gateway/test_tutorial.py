"""The tutorial's steps with ``shoal proxy`` and curl-style HTTP: the
version, the pods of a namespace, and a pod's own port through
``/api/v1/namespaces/default/pods/$POD/proxy/`` (the fake runtime forwards
a pod's ports to loopback, where the test runs the "application")."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
import yaml
from aiohttp import web
from shoal import config
from shoal.ctl.context import CtlContext
from shoal.ctl.proxy import run_proxy

from tests.ctl.conftest import invoke
from tests.gateway.conftest import GatewayCluster
from tests.integration.helpers import eventually


@pytest_asyncio.fixture
async def app_port() -> AsyncIterator[int]:
    """A loopback HTTP server standing in for the pod's application."""

    async def hello(request: web.Request) -> web.Response:
        body = await request.read()
        text = f"hello from {request.method} {request.path_qs} {body.decode()}".strip()
        return web.Response(text=text, headers={"X-App": "yes"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hello)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _running_pod(gc: GatewayCluster, name: str, port: int) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "app", "image": "busybox", "ports": [{"containerPort": port}]}]
        },
    }
    async with gc.http.post("/api/v1/namespaces/default/pods", json=pod) as response:
        assert response.status == 201, await response.text()

    async def running() -> bool:
        got = await gc.cluster.client.get("Pod", name, "default")
        return got.status.phase == "Running"

    await eventually(running, timeout=30)


async def test_shoal_proxy_serves_the_tutorial(
    gateway_cluster: GatewayCluster, app_port: int, tmp_path: Path
) -> None:
    path = tmp_path / "config"
    config.write(
        path,
        config.set_context(config.empty_config(), "test", gateway_cluster.cluster.client.target),
    )
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    ctx = CtlContext(str(path), "", "", "")
    proxy = asyncio.create_task(run_proxy(ctx, "127.0.0.1", 0, ready))
    try:
        url = await asyncio.wait_for(ready, 10)
        await _running_pod(gateway_cluster, "hello", app_port)
        async with aiohttp.ClientSession(url) as curl:
            async with curl.get("/version") as response:
                assert (await response.json())["major"] == "1"
            async with curl.get("/api/v1/namespaces/default/pods") as response:
                names = [p["metadata"]["name"] for p in (await response.json())["items"]]
                assert names == ["hello"]
            async with curl.get("/api/v1/namespaces/default/pods/hello/proxy/") as response:
                assert response.status == 200
                assert await response.text() == "hello from GET /"
                assert response.headers["X-App"] == "yes"
            async with curl.post(
                f"/api/v1/namespaces/default/pods/hello:{app_port}/proxy/echo?x=1", data=b"hi"
            ) as response:
                assert await response.text() == "hello from POST /echo?x=1 hi"
            async with curl.get("/api/v1/namespaces/default/pods/nope/proxy/") as response:
                assert response.status == 404 and (await response.json())["kind"] == "Status"
    finally:
        proxy.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await proxy


async def test_port_forward_over_websocket(gateway_cluster: GatewayCluster, app_port: int) -> None:
    await _running_pod(gateway_cluster, "fwd", app_port)
    path = f"/api/v1/namespaces/default/pods/fwd/portforward?ports={app_port}"
    async with gateway_cluster.http.ws_connect(path, protocols=("v4.channel.k8s.io",)) as ws:
        port_bytes = bytes([app_port & 0xFF, app_port >> 8])
        assert await ws.receive_bytes(timeout=10) == b"\x00" + port_bytes
        assert await ws.receive_bytes(timeout=10) == b"\x01" + port_bytes
        await ws.send_bytes(b"\x00GET /pf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while b"hello from GET /pf" not in received:
            frame = await ws.receive_bytes(timeout=10)
            assert frame[0] == 0
            received += frame[1:]
    assert received.startswith(b"HTTP/1.1 200")


async def test_exec_takes_stdin_in_text_and_binary_frames(
    gateway_cluster: GatewayCluster,
) -> None:
    """The official Python client writes a ``str`` as a TEXT frame whose
    first character is the channel; kubectl writes BINARY frames. v5's
    close signal (channel 255) ends stdin."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "cat"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]},
    }
    async with gateway_cluster.http.post("/api/v1/namespaces/default/pods", json=pod) as made:
        assert made.status == 201, await made.text()

    async def running() -> bool:
        got = await gateway_cluster.cluster.client.get("Pod", "cat", "default")
        return got.status.phase == "Running"

    await eventually(running, timeout=30)
    path = "/api/v1/namespaces/default/pods/cat/exec?command=cat&stdin=true&stdout=true"
    async with gateway_cluster.http.ws_connect(path, protocols=("v5.channel.k8s.io",)) as ws:
        await ws.send_str("\x00typed as text\n")
        await ws.send_bytes(b"\x00sent as bytes\n")
        await ws.send_bytes(b"\xff\x00")  # v5: close stdin
        out, status = b"", None
        while status is None:
            frame = await ws.receive_bytes(timeout=10)
            if frame[0] == 1:
                out += frame[1:]
            elif frame[0] == 3:
                status = json.loads(frame[1:])
    assert out == b"typed as text\nsent as bytes\n"
    assert status["status"] == "Success"


async def test_exec_needs_a_websocket(gateway_cluster: GatewayCluster) -> None:
    path = "/api/v1/namespaces/default/pods/x/exec?command=ls"
    async with gateway_cluster.http.post(path) as response:
        body = await response.json()
    assert response.status == 400 and "WebSocket" in body["message"]


async def test_config_view_kubeconfig(tmp_path: Path) -> None:
    path = tmp_path / "config"
    data = config.set_context(config.empty_config(), "dev", "127.0.0.1:6443", namespace="web")
    config.write(path, data)
    result = await asyncio.to_thread(
        invoke, ["--config", str(path), "config", "view", "--kubeconfig"]
    )
    assert result.code == 0, result.err
    kubeconfig = yaml.safe_load(result.out)
    assert kubeconfig["clusters"] == [
        {"name": "dev", "cluster": {"server": "http://127.0.0.1:8001"}}
    ]
    assert kubeconfig["contexts"][0]["context"]["namespace"] == "web"
    from shoal.plugins.gateway.kubeconfig import record_http_server

    record_http_server(path, "dev", "http://127.0.0.1:9999")
    result = await asyncio.to_thread(
        invoke, ["--config", str(path), "config", "view", "--kubeconfig"]
    )
    assert yaml.safe_load(result.out)["clusters"][0]["cluster"]["server"] == "http://127.0.0.1:9999"
