"""The store contract (``shoal.testing.StoreContract``), run against every
backend this project ships, exactly as a third-party backend runs it."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest
from shoal.store.base import Store
from shoal.store.sqlite import SQLiteStore
from shoal.testing import StoreContract

from tests.store.conftest import BACKENDS


async def _started(backend: str, tmp_path: pathlib.Path) -> AsyncIterator[Store]:
    store = BACKENDS[backend](tmp_path)
    await store.start()
    try:
        yield store
    finally:
        await store.close()


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: pathlib.Path) -> AsyncIterator[Store]:
        async for store in _started("sqlite", tmp_path):
            yield store


class TestEtcdStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: pathlib.Path) -> AsyncIterator[Store]:
        async for store in _started("etcd", tmp_path):
            yield store


class TestSQLiteStoreCompactingOneRevisionPerStep(StoreContract):
    """The contract again with compaction in the smallest steps there are."""

    @pytest.fixture
    async def store(self, tmp_path: pathlib.Path) -> AsyncIterator[Store]:
        store = SQLiteStore(tmp_path / "store.db", compact_keep=0, compact_batch=1)
        await store.start()
        try:
            yield store
        finally:
            await store.close()
