"""The command line's stream verbs against an agent on the fake runtime."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.ctl.main import main
from shoal.ctl.portforward import parse_ports, resolve, serve

from tests.agent.conftest import StartAgent
from tests.integration.helpers import eventually, obj, pod


async def _shoal(server: APIServer, *args: str) -> int:
    def run() -> int:
        try:
            return int(main(["--server", f"127.0.0.1:{server.port}", *args]) or 0)
        except SystemExit as done:
            return int(done.code or 0)

    return await asyncio.to_thread(run)


async def _running(client: Client, name: str) -> bool:
    return (await client.get("Pod", name)).status.phase == "Running"


async def test_logs_and_exec_verbs(
    shoal_server: APIServer, shoal_client: Client, start_agent: StartAgent, capfd: Any
) -> None:
    await start_agent()
    p = pod("web", node="node-1", labels={"app": "web"})
    p.spec.containers[0].command.extend(["sh", "-c", "echo started; exec sleep infinity"])
    await shoal_client.create(p)
    await eventually(lambda: _running(shoal_client, "web"))
    capfd.readouterr()  # the servers' own log lines
    assert await _shoal(shoal_server, "logs", "web") == 0
    assert capfd.readouterr().out == "started\n"
    assert await _shoal(shoal_server, "logs", "-l", "app=web", "--tail", "1") == 0
    assert capfd.readouterr().out == "started\n"
    assert await _shoal(shoal_server, "exec", "pod/web", "--", "sh", "-c", "echo hi; exit 3") == 3
    out = capfd.readouterr()
    assert out.out == "hi\n" and "command terminated with exit code 3" in out.err
    assert await _shoal(shoal_server, "logs", "nope") == 1
    assert 'pods "nope" not found' in capfd.readouterr().err
    # as kubectl does: a pod of a workload or service, picked by its selector
    await shoal_client.create(
        obj(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
            }
        )
    )
    assert await _shoal(shoal_server, "logs", "svc/web") == 0
    assert capfd.readouterr().out == "started\n"
    assert await _shoal(shoal_server, "logs", "configmap/web") == 2
    assert "cannot pick a pod of a ConfigMap" in capfd.readouterr().err


async def test_image_verbs(
    shoal_server: APIServer, start_agent: StartAgent, capfd: Any, tmp_path: Any
) -> None:
    await start_agent()
    capfd.readouterr()
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tarball")
    assert await _shoal(shoal_server, "image", "load", str(bad), "--node", "node-1") == 1
    assert "not an image archive" in capfd.readouterr().err
    assert await _shoal(shoal_server, "image", "load", str(bad), "--node", "ghost") == 1
    assert 'nodes "ghost" not found' in capfd.readouterr().err
    assert await _shoal(shoal_server, "image", "ls") == 0
    assert capfd.readouterr().out.split() == ["NODE", "IMAGE", "ID", "SIZE"]


def test_parse_ports() -> None:
    assert parse_ports(("8080:80", "90", ":70")) == [(8080, "80"), (90, "90"), (0, "70")]
    with pytest.raises(Exception, match='invalid port "x:"'):
        parse_ports(("x:",))


async def test_port_forward_to_a_service(shoal_client: Client, start_agent: StartAgent) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(100))
        await writer.drain()
        writer.close()

    pod_server = await asyncio.start_server(echo, "127.0.0.1", 0)
    pod_port = pod_server.sockets[0].getsockname()[1]
    await start_agent()
    p = pod("backend", node="node-1", labels={"app": "be"})
    p.spec.containers[0].ports.add(name="http", container_port=pod_port)
    await shoal_client.create(p)
    await shoal_client.create(
        obj(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "be"},
                "spec": {
                    "selector": {"app": "be"},
                    "ports": [{"name": "web", "port": 80, "targetPort": "http"}],
                },
            }
        )
    )
    await eventually(lambda: _running(shoal_client, "backend"))
    name, pairs = await resolve(shoal_client, "default", "svc/be", [(0, "web")])
    assert name == "backend" and pairs == [(0, pod_port)]
    stop = asyncio.Event()
    ready: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
    listening = asyncio.create_task(
        serve(shoal_client, "default", name, pairs, "127.0.0.1", stop, ready)
    )
    (local,) = await asyncio.wait_for(ready, 10)
    reader, writer = await asyncio.open_connection("127.0.0.1", local)
    writer.write(b"through the api server")
    await writer.drain()
    assert await reader.read(100) == b"through the api server"
    writer.close()
    stop.set()
    await listening
    pod_server.close()
