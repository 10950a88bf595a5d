"""Run ``shoal`` in-process against the in-process API server.

The CLI runs its own event loop (asyncio.run), so it runs in a worker thread
while the server keeps serving on the test's loop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest_asyncio
from click.testing import CliRunner
from shoal.apiserver.server import APIServer
from shoal.ctl.main import main

MANIFESTS = __import__("pathlib").Path(__file__).parent.parent / "manifests"


@dataclass
class Result:
    code: int
    out: str
    err: str


Shoal = Callable[..., Awaitable[Result]]


def invoke(args: list[str], input: str | None = None, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (out, err, _):
        code = main(args)
    return Result(code, out.getvalue().decode(), err.getvalue().decode())


def ages(text: str) -> str:
    """Ages of freshly made objects are a second or two: make them stable."""
    return re.sub(r"(?<=\s)\d{1,2}s(?=\s|$)", "Xs", text)


@pytest_asyncio.fixture
async def shoal(shoal_server: APIServer) -> Shoal:
    address = f"127.0.0.1:{shoal_server.port}"

    async def run(
        *args: str, input: str | None = None, env: dict[str, str] | None = None, server: bool = True
    ) -> Result:
        argv = ["--server", address, *args] if server else list(args)
        return await asyncio.to_thread(invoke, argv, input, env)

    return run
