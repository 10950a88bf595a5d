"""Idle connections without credentials must not starve the API of
descriptors: a ``shoal server`` started under a low soft RLIMIT_NOFILE
raises it to the hard limit, closes connections that send no request,
caps connections per listener, and logs a flood once, not per connection."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import select
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from shoal import config
from shoal.client import Client

from tests.integration.helpers import eventually
from tests.security.server_process import ServerProcess

SOFT, HARD = 256, 4096
IDLE = 300  # more than the soft limit the server was started with


def _low_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))


def _open_files(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open files limit")


@contextlib.contextmanager
def _idle(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` TCP connections that never send a byte."""
    socks = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        yield socks
    finally:
        for sock in socks:
            sock.close()


def _closed_by_peer(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:  # reset
        return True


async def _authenticated_rest_get(server: ServerProcess, url: str) -> int:
    cfg = config.load(str(server.admin_conf))
    context = ssl.create_default_context(cadata=cfg.ca_data.decode())
    cert, key = server.data_dir / "pki" / "admin.crt", server.data_dir / "pki" / "admin.key"
    context.load_cert_chain(cert, key)
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/v1/namespaces/default/configmaps", ssl=context) as answer,
    ):
        return answer.status


def _port(url_or_address: str) -> int:
    return int(url_or_address.rsplit(":", 1)[1])


def _complaints(log: str) -> int:
    """Warnings and errors logged so far."""
    return sum(
        '"level": "warning"' in line or '"level": "error"' in line for line in log.splitlines()
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


async def test_idle_connections_do_not_starve_the_api(data_dir: Path) -> None:
    server = ServerProcess(
        data_dir, "--http-listen", "127.0.0.1:0", "--request-header-timeout", "2",
        preexec_fn=_low_limit,
    )  # fmt: skip
    try:
        address, url = await server.address(), await server.http_url()
        assert _open_files(server.proc.pid) == (HARD, HARD)
        lines = _complaints(server.log())
        with _idle(_port(url), IDLE) as http_idle, _idle(_port(address), IDLE) as grpc_idle:
            async with Client.from_config(str(server.admin_conf)) as client:
                await asyncio.wait_for(client.version(), 20)
            assert await asyncio.wait_for(_authenticated_rest_get(server, url), 20) == 200
            # The server closes connections that never sent a request.
            await eventually(lambda: all(map(_closed_by_peer, http_idle)), timeout=30)
            await eventually(lambda: all(map(_closed_by_peer, grpc_idle)), timeout=30)
        # Start-up's lines (controllers starting) may still come; what must
        # not is a warning per connection.
        assert _complaints(server.log()) - lines < 20, server.log()[-3000:]
    finally:
        server.stop()


async def test_connections_beyond_the_cap_are_refused_and_logged_once(data_dir: Path) -> None:
    server = ServerProcess(
        data_dir, "--http-listen", "127.0.0.1:0", "--max-connections", "50",
        "--request-header-timeout", "60",
    )  # fmt: skip
    try:
        url = await server.http_url()
        lines = _complaints(server.log())
        with _idle(_port(url), 120) as socks:
            # Those past the cap are closed at once, not after the header timeout.
            await eventually(lambda: sum(map(_closed_by_peer, socks)) >= 60, timeout=20)
            assert not any(map(_closed_by_peer, socks[:40]))
        log = server.log().splitlines()[lines:]
        refusals = [line for line in log if "too many connections" in line]
        assert len(refusals) == 1, log
    finally:
        server.stop()
