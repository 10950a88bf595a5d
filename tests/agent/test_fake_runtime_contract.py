"""The runtime contract (``shoal.testing.RuntimeContract``) against the fake
runtime, minus what needs real processes (its shell is a simulation) and
adoption (its state lives in one instance)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from shoal.plugins.runtimes.fake import FakeRuntime
from shoal.testing import RuntimeContract


class TestFakeRuntime(RuntimeContract):
    real_processes = False
    adopts = False

    @pytest.fixture
    async def runtime(self, node_name: str) -> AsyncIterator[Any]:
        runtime = FakeRuntime({"node_name": node_name, "images": [self.image]})
        try:
            yield runtime
        finally:
            await runtime.close()
