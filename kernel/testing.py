"""``shoal.testing``: pytest fixtures for plugin authors (loaded through the
``pytest11`` entry point; needs pytest-asyncio).

- ``shoal_server``: an in-process API server on a fresh SQLite store in a
  temporary directory, listening on a free loopback port.
- ``shoal_client``: a :class:`shoal.client.Client` connected to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.store.sqlite import SQLiteStore


async def start_server(data_dir: Path, *, bookmark_interval: float = 10.0) -> APIServer:
    """A started APIServer on ``data_dir/state.db``; stop it with ``await server.stop()``."""
    store = SQLiteStore(data_dir / "state.db", compact_interval=0)
    server = APIServer(store, bookmark_interval=bookmark_interval)
    await server.start("127.0.0.1:0")
    return server


@pytest_asyncio.fixture
async def shoal_server(tmp_path: Path) -> AsyncIterator[APIServer]:
    server = await start_server(tmp_path)
    try:
        yield server
    finally:
        await server.stop(grace=0)


@pytest_asyncio.fixture
async def shoal_client(shoal_server: APIServer) -> AsyncIterator[Client]:
    client = Client(f"127.0.0.1:{shoal_server.port}")
    try:
        yield client
    finally:
        await client.close()
