"""``shoal server --api-processes 2`` on a real etcd: one address, two API
server processes. Which process serves a connection is read from the
kernel (/proc: the child that owns the accepted socket whose peer is our
client's socket), not from the server's word."""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import subprocess
import sys
import time

from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.stores.etcd_local import LocalEtcd

from tests.etcd.processes import ServerProcess
from tests.integration.helpers import collect

DEADLINE = 60.0
SERVER = [sys.executable, "-m", "shoal.ctl.main", "server"]


def config_map(name: str) -> object:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    return from_dict({**manifest, "data": {"k": name}})


def children(pid: int) -> list[int]:
    path = pathlib.Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def tcp_connections(pid: int) -> set[tuple[int, int]]:
    """(local port, remote port) of ``pid``'s established TCP sockets."""
    inodes = set()
    for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in pathlib.Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and fields[9] in inodes:  # ESTABLISHED
                local, remote = fields[1], fields[2]
                found.add((int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16)))
    return found


def serving_process(client_port: int, server_port: int, pids: list[int]) -> int | None:
    for pid in pids:
        if (server_port, client_port) in tcp_connections(pid):
            return pid
    return None


async def connect(server: ServerProcess, port: int, pids: list[int]) -> tuple[Client, int]:
    """A new client that has made a create: it and the API process serving it."""
    before = {local for local, remote in tcp_connections(os.getpid()) if remote == port}
    client = Client.for_config(server.client_config())
    await client.create(config_map(f"probe-{time.monotonic_ns()}"))
    mine = {local for local, remote in tcp_connections(os.getpid()) if remote == port} - before
    assert len(mine) == 1, mine
    served_by = serving_process(mine.pop(), port, pids)
    assert served_by is not None
    return client, served_by


def start(tmp_path: pathlib.Path, etcd: LocalEtcd, prefix: str) -> ServerProcess:
    return ServerProcess(
        tmp_path / "server",
        *("--store", "etcd", "--etcd-endpoints", etcd.endpoints, "--etcd-prefix", prefix),
        *("--api-processes", "2"),
    )


async def two_processes(server: ServerProcess) -> list[int]:
    deadline = time.monotonic() + DEADLINE
    while len(pids := children(server.pid)) < 2:
        assert time.monotonic() < deadline, "the second API process did not start"
        await asyncio.sleep(0.05)
    return pids


async def test_creates_through_one_address_land_in_both_processes_and_watches_span_them(
    tmp_path: pathlib.Path, etcd_one: LocalEtcd, etcd_prefix: str
) -> None:
    server = start(tmp_path, etcd_one, etcd_prefix)
    clients: dict[int, Client] = {}
    spare: list[Client] = []
    try:
        pids = await two_processes(server)
        port = int(server.address.rsplit(":", 1)[1])
        deadline = time.monotonic() + DEADLINE
        while len(clients) < 2:  # the kernel spreads connections; keep opening until both
            assert time.monotonic() < deadline, f"every create landed in {list(clients)}"
            client, pid = await connect(server, port, pids)
            if pid in clients:
                spare.append(client)
            else:
                clients[pid] = client
        one, two = (clients[pid] for pid in pids)
        listed = await one.list("ConfigMap", "default")
        watch = one.watch("ConfigMap", "default", resource_version=listed.resource_version)
        events = asyncio.ensure_future(collect(watch, 1))
        created = await two.create(config_map("through-the-other"))
        (added,) = await asyncio.wait_for(events, DEADLINE)
        assert (added.type, added.object.metadata.uid) == ("ADDED", created.metadata.uid)
    finally:
        for client in (*clients.values(), *spare):
            await client.close()
        server.stop()
    assert not any(alive(pid) for pid in pids)


async def test_killing_the_parent_leaves_no_child(
    tmp_path: pathlib.Path, etcd_one: LocalEtcd, etcd_prefix: str
) -> None:
    server = start(tmp_path, etcd_one, etcd_prefix)
    try:
        pids = await two_processes(server)
    finally:
        server.kill()
    deadline = time.monotonic() + DEADLINE
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "API processes outlived their parent"
        await asyncio.sleep(0.05)


async def test_a_crashed_child_stops_the_server_loudly(
    tmp_path: pathlib.Path, etcd_one: LocalEtcd, etcd_prefix: str
) -> None:
    server = start(tmp_path, etcd_one, etcd_prefix)
    try:
        pids = await two_processes(server)
        os.kill(pids[1], signal.SIGKILL)
        code = await asyncio.to_thread(server.proc.wait, DEADLINE)
    finally:
        server.stop()
    assert code == 1
    assert (
        f"(pid {pids[1]}) exited with code -9" in (tmp_path / "server" / "server.log").read_text()
    )
    assert not alive(pids[0])


def test_sqlite_refuses_several_api_processes_naming_etcd(tmp_path: pathlib.Path) -> None:
    done = subprocess.run(
        [*SERVER, "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0", "--api-processes", "2"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 2
    assert "--api-processes 2 needs --store etcd" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "admin.conf").exists()
