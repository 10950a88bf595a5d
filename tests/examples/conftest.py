"""The example plugin package (examples/shoal-widgets) installed as a user
installs it, by pip, into a directory of its own, and found by shoal only
through its ``shoal`` entry point: a ``shoal server`` process (API, REST
gateway, controllers) and ``shoal`` commands run with that directory on
their PYTHONPATH. This test process never imports the package, so no other
test sees the Widget kind."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gateway.conftest import Run, needs_kubectl, run_kubectl

__all__ = ["Run", "WidgetsCluster", "needs_kubectl"]  # needs_kubectl: a fixture for the tests

EXAMPLE = Path(__file__).parents[2] / "examples" / "shoal-widgets"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def widgets_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the installed package and its dist-info (its
    entry points). Built from a copy so the checkout gets no build files."""
    root = tmp_path_factory.mktemp("widgets")
    source = root / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return site


@dataclass
class WidgetsCluster:
    grpc: str
    url: str
    home: Path
    env: dict[str, str]

    async def shoal(self, *args: str, input: str | None = None) -> Run:
        """``shoal`` as a process, the plugin installed."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shoal.ctl.main", "--server", self.grpc, *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self.env,
        )  # fmt: skip
        out, err = await asyncio.wait_for(
            proc.communicate(input.encode() if input is not None else None), 60
        )
        return Run(proc.returncode or 0, out.decode(), err.decode())

    async def kubectl(self, *args: str, input: str | None = None) -> Run:
        return await run_kubectl(self.url, self.home, *args, input=input)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def widgets_cluster(
    widgets_site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WidgetsCluster]:
    """``shoal server`` (plain loopback, REST gateway, every controller)
    with the example plugin installed."""
    home = tmp_path_factory.mktemp("widgets-cluster")
    paths = [str(widgets_site), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": os.pathsep.join(paths)}
    grpc, http = f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"
    log = open(home / "server.log", "ab")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "shoal.ctl.main", "server", "--insecure", "--no-leader-elect",
         "--data-dir", str(home / "data"), "--listen", grpc, "--http-listen", http],
        stdout=subprocess.DEVNULL, stderr=log, env=env,
    )  # fmt: skip
    url = f"http://{http}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):  # poll until it serves
            assert server.poll() is None, (home / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "shoal server did not answer within 60 s"
            time.sleep(0.05)
        yield WidgetsCluster(grpc, url, home, env)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
