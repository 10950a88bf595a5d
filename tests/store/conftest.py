"""Store fixtures. ``store`` is parametrized over every backend in BACKENDS, so
the contract tests run unchanged against each one."""

from __future__ import annotations

import itertools
import pathlib
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from shoal.plugins.stores.etcd_local import EtcdNotFoundError, LocalEtcd, etcd_binary
from shoal.plugins.stores.etcd_store import EtcdStore
from shoal.store.base import Store
from shoal.store.sqlite import SQLiteStore

from tests.requirements import require_etcd


def _sqlite(tmp_path: pathlib.Path) -> Store:
    # Periodic compaction off: the tests compact when they mean to.
    return SQLiteStore(tmp_path / "store.db", compact_keep=0)


_etcd: LocalEtcd | None = None
_prefixes = itertools.count()


def _etcd_store(tmp_path: pathlib.Path) -> Store:
    # One etcd for the session; each test gets a key prefix of its own.
    if _etcd is None:
        require_etcd()  # skips, or fails in CI: the session fixture found no etcd
        raise AssertionError("etcd is installed, yet the session's etcd was not started")
    return EtcdStore(_etcd.endpoints, prefix=f"/t{next(_prefixes)}/", compact_keep=0)


@pytest.fixture(scope="session", autouse=True)
def etcd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcd | None]:
    """A one-member etcd on free loopback ports, started once per session if
    any test here uses the etcd backend (and etcd is installed)."""
    global _etcd
    try:
        etcd_binary()
    except EtcdNotFoundError:
        yield None
        return
    _etcd = LocalEtcd(tmp_path_factory.mktemp("etcd"))
    _etcd.start()
    try:
        yield _etcd
    finally:
        _etcd.stop()
        _etcd = None


# To add a backend: a name and a factory that returns a new, not yet started
# store that is empty (e.g. under a key prefix unique to ``tmp_path``).
BACKENDS: dict[str, Callable[[pathlib.Path], Store]] = {
    "sqlite": _sqlite,
    "etcd": _etcd_store,
}


@pytest.fixture(params=sorted(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[Store]:
    backend = BACKENDS[request.param](tmp_path)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()
