"""Agents over the fake runtime against the in-process API server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest_asyncio
from shoal.agent.agent import Agent, AgentOptions
from shoal.agent.kubelet import Timing
from shoal.apiserver.server import APIServer
from shoal.plugins.runtimes.fake import FakeRuntime

FAST = Timing(
    lease_interval=0.2,
    status_interval=1.0,
    resync=0.5,
    relist_interval=0.05,
    retry=0.1,
    backoff_initial=0.3,
    backoff_max=1.2,
)

StartAgent = Callable[..., Coroutine[Any, Any, Agent]]


def agent_options(server: APIServer, tmp_path: Path, **overrides: Any) -> AgentOptions:
    options = AgentOptions(
        server=f"127.0.0.1:{server.port}",
        name="node-1",
        runtime="fake",
        data_dir=tmp_path / "agent",
        cpu="4",
        memory="8Gi",
        max_pods=30,
        stream_listen="127.0.0.1:0",
        timing=FAST,
    )
    for key, value in overrides.items():
        setattr(options, key, value)
    return options


@pytest_asyncio.fixture
async def start_agent(shoal_server: APIServer, tmp_path: Path) -> AsyncIterator[StartAgent]:
    """``await start_agent(runtime=..., **options)``: a started agent, stopped at the end."""
    started: list[Agent] = []

    async def start(runtime: FakeRuntime | None = None, **overrides: Any) -> Agent:
        options = agent_options(shoal_server, tmp_path, **overrides)
        agent = Agent(options, runtimes=[runtime] if runtime is not None else None)
        await agent.start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        await agent.stop()
