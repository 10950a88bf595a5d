"""Fixtures for the etcd tests: a real etcd (one member for the session, or a
three-member cluster for one test) and API servers on it."""

from __future__ import annotations

import itertools
import pathlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from shoal.apiserver.server import APIServer, admission_chain
from shoal.plugins.stores.etcd_local import LocalEtcd
from shoal.plugins.stores.etcd_store import EtcdStore

from tests.requirements import require_etcd

_prefixes = itertools.count()
StartServer = Callable[[], Awaitable[APIServer]]


@pytest.fixture(scope="session")
def etcd_one(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcd]:
    require_etcd()
    cluster = LocalEtcd(tmp_path_factory.mktemp("etcd-one"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def etcd_three(tmp_path: pathlib.Path) -> Iterator[LocalEtcd]:
    require_etcd()
    cluster = LocalEtcd(tmp_path / "etcd", members=3)
    (tmp_path / "etcd").mkdir()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def etcd_prefix() -> str:
    """A key prefix of this test's own, so tests share the session's etcd."""
    return f"/registry-{next(_prefixes)}/"


@pytest.fixture
async def api_servers(etcd_one: LocalEtcd, etcd_prefix: str) -> AsyncIterator[StartServer]:
    """``await start()`` -> another API server on the same etcd and prefix."""
    started: list[APIServer] = []

    async def start() -> APIServer:
        store = EtcdStore(etcd_one.endpoints, prefix=etcd_prefix, compact_keep=0)
        server = APIServer(store, store_name="etcd", admission=admission_chain())
        await server.start("127.0.0.1:0")
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()
