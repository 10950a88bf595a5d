"""The scrape asks a bounded number of nodes at once: one agent serving a
thousand hollow nodes got a thousand calls in one burst, and gRPC shed most
of them as CANCELLED (every node of a 1,000-node simulation unscraped)."""

from __future__ import annotations

import asyncio
import types
from typing import Any

from shoal.api.v1 import metrics_pb2
from shoal.plugins.metrics import scraper
from shoal.plugins.metrics.rates import MetricsStorage

NODES = [f"hollow-{i:04d}" for i in range(300)]


async def test_a_scrape_asks_a_bounded_number_of_nodes_at_once() -> None:
    asking, most, answered = 0, 0, []

    async def summary(name: str) -> Any:
        nonlocal asking, most
        asking += 1
        most = max(most, asking)
        await asyncio.sleep(0)  # answered on the next turn of the loop
        asking -= 1
        answered.append(name)
        found = metrics_pb2.NodeSummary()
        found.node.node_name = name
        return found

    async def nodes() -> list[str]:
        return NODES

    storage = MetricsStorage()
    await scraper.Scraper(nodes, summary, storage, resolution=15.0).scrape_once()
    assert most == scraper.CONCURRENT_NODES
    assert sorted(answered) == NODES


async def test_a_node_that_keeps_failing_is_logged_once_until_it_changes(
    monkeypatch: Any,
) -> None:
    """5,000 nodes without an agent (the scheduler benchmark's) made 5,000
    log lines every 15 s, the same each time."""
    lines: list[tuple[str, dict[str, Any]]] = []

    class Log:
        def info(self, event: str, **kw: Any) -> None:
            lines.append((event, kw))

    monkeypatch.setattr(scraper, "log", Log())
    broken = {"a", "b"}

    async def summary(name: str) -> Any:
        if name in broken:
            raise RuntimeError(f'node "{name}" has no agent endpoint')
        found = metrics_pb2.NodeSummary()
        found.node.node_name = name
        return found

    async def nodes() -> list[str]:
        return ["a", "b", "c"]

    scrape = scraper.Scraper(nodes, summary, MetricsStorage(), resolution=15.0)
    await scrape.scrape_once()
    await scrape.scrape_once()
    assert sorted(kw["node"] for event, kw in lines if event == "node not scraped") == ["a", "b"]
    broken.discard("a")  # its agent came up
    await scrape.scrape_once()
    await scrape.scrape_once()
    assert [kw["node"] for event, kw in lines if event == "node scraped again"] == ["a"]
    broken.add("a")  # and went away: told again
    await scrape.scrape_once()
    assert [kw["node"] for event, kw in lines if event == "node not scraped"].count("a") == 2


async def test_a_scrape_reads_each_node_once_from_its_list() -> None:
    """The metrics server asks each listed node's agent without reading the
    node again (5,000 gets a scrape in the scheduler's benchmark); a node
    without an agent is still named as such."""
    from shoal.api.v1 import core_pb2
    from shoal.apiserver.streams import AgentDirectory
    from shoal.contracts import APIServiceContext
    from shoal.plugins.metrics.service import MetricsServer

    class Registry:
        lists = 0

        async def list(self, kind: Any, namespace: str) -> Any:
            self.lists += 1
            items = [core_pb2.Node() for _ in NODES[:5]]
            for node, name in zip(items, NODES, strict=False):
                node.metadata.name = name
            return types.SimpleNamespace(items=items)

        async def get(self, kind: Any, namespace: str, name: str) -> Any:
            raise AssertionError(f"node {name} read again")

    registry = Registry()
    server = MetricsServer(APIServiceContext(registry, AgentDirectory(registry)))
    await server.scraper.scrape_once()
    assert registry.lists == 1
    assert server.scraper.failing == {
        name: f'node "{name}" has no agent endpoint' for name in NODES[:5]
    }
