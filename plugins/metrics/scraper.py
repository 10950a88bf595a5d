"""The scrape loop: every ``resolution`` seconds, ask each node's agent for
its summary (``Streams.Summary``) at once and hand what came back to the
storage, as metrics-server scrapes every kubelet each ``--metric-resolution``.

A node that does not answer within the resolution (at least
``MIN_TIMEOUT``: dockerd may take a second to answer stats) is left out of
that scrape; the others are not held up by it. Its failure is logged when
it starts or its reason changes, and its recovery once: a node without an
agent (a benchmark's thousands) would otherwise log the same line every
scrape. At most
``CONCURRENT_NODES`` are asked at once: one agent serving a thousand hollow
nodes would otherwise get a thousand calls in one burst, more than gRPC
holds for its server (it sheds the rest as CANCELLED).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from shoal import clock
from shoal.plugins.metrics.rates import MetricsStorage

# lazy: bound at first use, so it follows log.configure (level, stream) made later
log = structlog.get_logger("metrics", component="metrics-scraper")

NodeLister = Callable[[], Awaitable[list[str]]]
SummaryReader = Callable[[str], Awaitable[Any]]
MIN_TIMEOUT = 5.0  # seconds a node has to answer, however short the resolution
CONCURRENT_NODES = 64  # nodes asked at once


class Scraper:
    def __init__(
        self,
        nodes: NodeLister,
        summary: SummaryReader,
        storage: MetricsStorage,
        resolution: float,
    ) -> None:
        self.nodes, self.summary, self.storage = nodes, summary, storage
        self.resolution = resolution
        self.scrapes = 0  # completed scrapes, for tests and /metrics
        self.failing: dict[str, str] = {}  # node -> why its last scrape failed

    async def scrape_once(self) -> None:
        names = await self.nodes()
        seats = asyncio.Semaphore(CONCURRENT_NODES)
        found = await asyncio.gather(*(self._node(name, seats) for name in names))
        self.storage.store(summary for summary in found if summary is not None)
        listed = set(names)
        self.failing = {n: why for n, why in self.failing.items() if n in listed}
        self.scrapes += 1

    async def _node(self, name: str, seats: asyncio.Semaphore) -> Any | None:
        try:
            async with seats:
                timeout = max(self.resolution, MIN_TIMEOUT)
                found = await asyncio.wait_for(self.summary(name), timeout)
        except Exception as err:  # one node's trouble must not stop the others
            why = str(err) or type(err).__name__
            if self.failing.get(name) != why:
                log.info("node not scraped", node=name, error=why)
            self.failing[name] = why
            return None
        if self.failing.pop(name, None) is not None:
            log.info("node scraped again", node=name)
        return found

    async def run(self) -> None:
        """Scrape until cancelled."""
        while True:
            started = clock.monotonic()
            try:
                await self.scrape_once()
            except Exception as err:
                log.warning("scrape failed", error=str(err) or type(err).__name__)
            await asyncio.sleep(max(self.resolution - (clock.monotonic() - started), 0.0))
