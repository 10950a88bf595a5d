"""Engine fixtures for the end-to-end tests: real Docker and Podman.

An engine that is not installed or does not answer makes its tests skip,
saying why; with ``SHOAL_E2E_REQUIRE_ENGINES=1`` (set by ``.ci/run``) they
fail instead, so CI can never pass by skipping. Every test gets a runtime
with its own node name, and everything carrying that node's label is
removed afterwards, whatever the test did.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.engines import ENGINES, make_runtime, remove_node_objects, require_engine


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    require_engine(request.param)
    yield request.param


@pytest.fixture
def node_name() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


@pytest_asyncio.fixture
async def runtime(engine: str, node_name: str) -> AsyncIterator[Any]:
    runtime = make_runtime(engine, node_name)
    try:
        yield runtime
    finally:
        await runtime.close()
        remove_node_objects(engine, node_name)
