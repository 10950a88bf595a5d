"""The dashboard in front of an in-process cluster (hollow nodes), and a
real Chromium from the Debian packages driven by Playwright (its async API,
on the test's event loop, so the cluster keeps serving). Playwright never
downloads a browser here: it launches /usr/bin/chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio
from shoal.agent.testing import Cluster, start_cluster, stop_cluster
from shoal.plugins.dashboard import Dashboard

from tests.requirements import require_binary, require_module

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class DashboardCluster:
    cluster: Cluster
    dashboard: Dashboard
    url: str


@pytest_asyncio.fixture
async def dashboard_cluster(tmp_path: Path) -> AsyncIterator[DashboardCluster]:
    cluster = await start_cluster(tmp_path, nodes=2)
    dashboard = Dashboard(cluster.client)
    await dashboard.start("127.0.0.1:0")
    try:
        yield DashboardCluster(cluster, dashboard, dashboard.url)
    finally:
        await dashboard.stop()
        await stop_cluster(cluster)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium (the Debian package) under Playwright."""
    chromium = require_binary("chromium")
    require_module("playwright")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(ignore_https_errors=True)
    page = await context.new_page()
    try:
        yield page
    finally:
        await context.close()
