"""Dashboard first paint with 1,000 pods (running on hollow nodes) beside a
plain ``GET /api/v1/namespaces/default/pods`` of the same pods through the
REST gateway, in the same run on the same in-process cluster.

Figures (medians of RUNS, after one warm-up): the gateway's list (request to
the last byte); the dashboard's page over plain HTTP (the server-rendered
HTML, every row in it); and in a real headless Chromium (Debian's, under
Playwright) the page's first contentful paint and its load event, measured
from navigation start by the browser's own Paint and Navigation Timing."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

PODS = 1000
NODES = 12  # 110 pods a node at most, as Kubernetes
RUNS = 7
PAGE = "/?view=workloads&ns=default"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


async def _pods(client: Any) -> int:
    from shoal.manifest import from_dict

    sem = asyncio.Semaphore(32)

    async def one(i: int) -> None:
        async with sem:
            await client.create(from_dict({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"pod-{i:04d}", "namespace": "default"},
                "spec": {"containers": [{"name": "c", "image": "shoal.local/busybox"}]},
            }))  # fmt: skip

    await asyncio.gather(*(one(i) for i in range(PODS)))
    deadline = time.monotonic() + 300
    running = 0
    while time.monotonic() < deadline:
        listed = await client.list("Pod", "default")
        running = sum(1 for p in listed.items if p.status.phase == "Running")
        if running == PODS:
            break
        await asyncio.sleep(1)
    return running


async def _median_ms(call: Any) -> tuple[float, int]:
    size = await call()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        size = await call()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1), size


async def _fetch(http: Any, url: str) -> int:
    async with http.get(url) as answer:
        assert answer.status == 200, answer.status
        return len(await answer.read())


async def _browser(url: str) -> dict[str, float]:
    from playwright.async_api import async_playwright

    paints, loads = [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        for i in range(RUNS + 1):
            page = await browser.new_page()
            await page.goto(url + PAGE, wait_until="load")
            rows = await page.locator('table[data-kind="pods"] tbody tr').count()
            assert rows == PODS, rows
            fcp = await page.evaluate(
                "performance.getEntriesByName('first-contentful-paint')[0].startTime"
            )
            load = await page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            if i:  # the first is a warm-up
                paints.append(fcp)
                loads.append(load)
            await page.close()
        await browser.close()
    return {
        "chromium_first_contentful_paint_ms": round(statistics.median(paints), 1),
        "chromium_load_event_ms": round(statistics.median(loads), 1),
    }


async def _run() -> dict[str, Any]:
    import aiohttp
    from shoal.agent.testing import start_cluster, stop_cluster
    from shoal.plugins.dashboard import Dashboard
    from shoal.plugins.gateway import Gateway

    with tempfile.TemporaryDirectory() as tmp:
        cluster = await start_cluster(Path(tmp), nodes=NODES)
        gateway, dashboard = Gateway(cluster.client), Dashboard(cluster.client)
        await gateway.start("127.0.0.1:0")
        await dashboard.start("127.0.0.1:0")
        try:
            running = await _pods(cluster.client)
            async with aiohttp.ClientSession() as http:
                api_ms, api_bytes = await _median_ms(
                    lambda: _fetch(http, gateway.url + "/api/v1/namespaces/default/pods")
                )
                html_ms, html_bytes = await _median_ms(lambda: _fetch(http, dashboard.url + PAGE))
            figures = {
                "pods": PODS,
                "pods_running": running,
                "gateway_list_pods_ms": api_ms,
                "gateway_list_pods_bytes": api_bytes,
                "dashboard_page_html_ms": html_ms,
                "dashboard_page_html_bytes": html_bytes,
            }
            figures.update(await _browser(dashboard.url))
            return figures
        finally:
            await dashboard.stop()
            await gateway.stop()
            await stop_cluster(cluster)


def run() -> dict[str, Any]:
    figures = asyncio.run(_run())
    for name, value in figures.items():
        print(f"   {name}: {value}")
    return figures
