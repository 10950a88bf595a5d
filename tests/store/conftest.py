"""Store fixtures. ``store`` is parametrized over every backend in BACKENDS, so
the contract tests run unchanged against each one."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator, Callable

import pytest
from shoal.store.base import Store
from shoal.store.sqlite import SQLiteStore


def _sqlite(tmp_path: pathlib.Path) -> Store:
    # Periodic compaction off: the tests compact when they mean to.
    return SQLiteStore(tmp_path / "store.db", compact_keep=0)


# To add a backend: a name and a factory that returns a new, not yet started
# store that is empty (e.g. under a key prefix unique to ``tmp_path``).
BACKENDS: dict[str, Callable[[pathlib.Path], Store]] = {
    "sqlite": _sqlite,
}


@pytest.fixture(params=sorted(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[Store]:
    backend = BACKENDS[request.param](tmp_path)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()
