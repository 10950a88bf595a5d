"""A node agent on a secure server: what it does as ``system:node:NAME``
must be within what a node may do, and its streams must work whatever
credentials it was started with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest_asyncio
from shoal.agent.agent import Agent, AgentOptions, with_node_identity
from shoal.config import ClientConfig

from tests.agent.conftest import FAST
from tests.integration.helpers import eventually, pod
from tests.security.conftest import SecureServer

StartAgent = Callable[..., Coroutine[Any, Any, Agent]]


@pytest_asyncio.fixture
async def start_agent(secure_server: SecureServer, tmp_path: Path) -> AsyncIterator[StartAgent]:
    """``await start_agent(credentials=..., join_token=...)``: an agent for
    node-a on the fake runtime, its identity settled as ``shoal agent`` does."""
    started: list[Agent] = []

    async def start(credentials: ClientConfig | None = None, join_token: str = "") -> Agent:
        options = AgentOptions(
            server=secure_server.address,
            name="node-a",
            runtime="fake",
            data_dir=tmp_path / "agent",
            node_ip="127.0.0.1",
            stream_listen="127.0.0.1:0",
            credentials=credentials,
            join_token=join_token,
            timing=FAST,
        )
        agent = Agent(await with_node_identity(options))
        await agent.start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        await agent.stop()


def _join_token(server: SecureServer, tmp_path: Path) -> str:
    return str(server.security.ensure_join_token(tmp_path / "join-token"))


async def test_a_joined_node_counts_repeated_events(
    secure_server: SecureServer, start_agent: StartAgent, tmp_path: Path
) -> None:
    """A crash loop repeats BackOff; the node bumps the Event's count, which
    it may do without reading the Event (system:node cannot get events)."""
    await start_agent(join_token=_join_token(secure_server, tmp_path))
    crash = pod("duo", node="node-a", restartPolicy="Always")
    crash.spec.containers[0].command.extend(["sh", "-c", "exit 1"])
    await secure_server.admin.create(crash)

    async def repeated() -> Any:
        events = (await secure_server.admin.list("Event", "default")).items
        return next((e for e in events if e.reason == "BackOff" and e.count >= 2), None)

    event = await eventually(repeated, timeout=15)
    assert event.source.component == "kubelet" and event.source.host == "node-a"
    assert event.last_timestamp.seconds >= event.first_timestamp.seconds
