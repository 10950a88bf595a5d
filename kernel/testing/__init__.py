"""``shoal.testing``: pytest fixtures for plugin authors (loaded through the
``pytest11`` entry point; needs pytest-asyncio).

- ``shoal_server``: an in-process API server on a fresh SQLite store in a
  temporary directory, listening on a free loopback port.
- ``shoal_client``: a :class:`shoal.client.Client` connected to it.

The whole cluster in-process (``shoal_cluster``, ``start_cluster``) needs
the node agent, which the kernel never imports: it is in
:mod:`shoal.agent.testing`, a pytest plugin of its own.

And the contract suites a third-party implementation runs by subclassing:
:class:`StoreContract` (give it a ``store`` fixture),
:class:`RuntimeContract` (a ``runtime`` fixture) and
:class:`StrategyContract` (a kind's sample objects); see their modules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

# Before importing them: their asserts should explain failures as tests' do.
pytest.register_assert_rewrite(
    "shoal.testing.store_contract",
    "shoal.testing.runtime_contract",
    "shoal.testing.strategy_contract",
)

from shoal.apiserver.server import APIServer  # noqa: E402
from shoal.client import Client  # noqa: E402
from shoal.store.sqlite import SQLiteStore  # noqa: E402
from shoal.testing.runtime_contract import RuntimeContract  # noqa: E402
from shoal.testing.store_contract import StoreContract  # noqa: E402
from shoal.testing.strategy_contract import StrategyContract  # noqa: E402

__all__ = [
    "RuntimeContract",
    "StoreContract",
    "StrategyContract",
    "start_server",
]


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
