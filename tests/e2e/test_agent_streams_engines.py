"""Streams of a real agent on Docker and Podman through the API server:
port-forward into a pod of several containers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.agents import E2ENode, busybox_pod, port_forward, start_node, stop_node, watch_pod
from tests.e2e.test_agent_engines import SERVE, SLEEP, running
from tests.integration.helpers import eventually

pytestmark = pytest.mark.e2e

GET = b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n"


@pytest_asyncio.fixture
async def cluster(engine: str, node_name: str, tmp_path: Path) -> AsyncIterator[E2ENode]:
    node = await start_node(engine, node_name, tmp_path)
    try:
        yield node
    finally:
        await stop_node(node)


async def test_port_forward_into_a_pod_of_two_containers(cluster: E2ENode) -> None:
    """A port belongs to the pod's network namespace: no container is named,
    as with kubectl port-forward."""
    pod = busybox_pod("duo", cluster.node, {"server": SERVE, "client": SLEEP})
    await cluster.client.create(pod)
    await watch_pod(cluster.client, "duo", running)

    async def fetched() -> bytes | None:
        answer = await port_forward(cluster.streams, "duo", 8080, GET)
        return answer if b"pod-local" in answer else None  # httpd may not listen yet

    answer = await eventually(fetched, timeout=15)
    assert answer.startswith(b"HTTP/1.") and b" 200 " in answer.split(b"\r\n")[0] + b" "
