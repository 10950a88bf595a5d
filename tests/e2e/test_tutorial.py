"""The README's quickstart, step by step, on real Docker and Podman, driven
through the `shoal` command line exactly as a user types it: `shoal up`,
a deployment exposed through a NodePort on loopback and through
`port-forward service/...`, scaling, self-healing, set image / rollout
undo, a replication controller of 10, and the two-tier guestbook whose web
pods reach redis by its Service name. Traffic goes only to 127.0.0.1 and
into the containers the test made (ClusterIPs are redirected to the local
proxy by the agent's NAT rules)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from shoal.plugins.proxy.rules import unavailable_reason

from tests.requirements import require

# Two engines, each a whole tutorial: well over pytest's default 120 s cap.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]
STARTED = time.monotonic()
CLI = (sys.executable, "-m", "shoal.ctl.main")
RC = (ROOT / "examples" / "sleepers-rc.yaml").read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Shoal:
    def __init__(self, home: Path) -> None:
        self.home, self.config = home, home / "config"

    def __call__(self, *args: str, timeout: float = 90, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "shoal.ctl.main", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
        )
        print(f"{time.monotonic() - STARTED:6.1f} s  shoal {' '.join(args)[:70]}")
        if done.returncode != 0:
            raise AssertionError(f"shoal {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def jsonpath(self, *args: str, path: str) -> str:
        return self(*args, "-o", f"jsonpath={path}").strip()


def until(check: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (AssertionError, OSError) as err:
            last = err
        time.sleep(0.2)
    raise AssertionError(f"{what or 'condition'} not met within {timeout} s; last: {last!r}")


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=3) as answer:
        return str(answer.read().decode())


@pytest.fixture
def cluster(engine: str, tmp_path: Path) -> Iterator[Shoal]:
    shoal = Shoal(tmp_path)
    home = str(tmp_path / "data")
    node = f"e2e-{uuid.uuid4().hex[:8]}"
    listen = f"127.0.0.1:{free_port()}"
    try:
        gateway = f"127.0.0.1:{free_port()}"  # listen + 1 may be taken on a busy machine
        up = shoal(
            "up", "--data-dir", home, "--listen", listen, "--runtime", engine, "--node-name", node,
            "--http-listen", gateway,
        )  # fmt: skip
        assert f"runtime: {engine}" in up and f'node "{node}" Ready' in up
        subprocess.run(
            [str(ROOT / "examples" / "build-images.sh"), engine], check=True, capture_output=True
        )
        yield shoal
    finally:
        shoal("down", "--data-dir", home, "--delete", timeout=120)


def rollout(shoal: Shoal, name: str) -> None:
    shoal("rollout", "status", f"deployment/{name}", "--timeout=90s", timeout=100)


def test_tutorial(cluster: Shoal) -> None:
    shoal = cluster
    assert " Ready " in shoal("get", "nodes")
    shoal("create", "deployment", "hello", "--image=shoal.local/hello:v1", "--replicas=2")
    rollout(shoal, "hello")
    assert "2/2" in shoal("get", "deployments")
    assert shoal("get", "pods").count("Running") == 2
    shoal("expose", "deployment", "hello", "--type=NodePort", "--port=8080")
    node_port = shoal.jsonpath("get", "svc", "hello", path="{.spec.ports[0].nodePort}")
    url = f"http://127.0.0.1:{node_port}/"
    assert until(lambda: fetch(url) == "hello from v1\n", what="node port answers")
    _port_forward(shoal)
    shoal("scale", "deployment", "hello", "--replicas=3")
    rollout(shoal, "hello")
    _self_healing(shoal)
    shoal("set", "image", "deployment/hello", "hello=shoal.local/hello:v2")
    rollout(shoal, "hello")
    assert until(lambda: fetch(url) == "hello from v2\n", what="v2 behind the node port")
    shoal("rollout", "undo", "deployment/hello")
    rollout(shoal, "hello")
    assert until(lambda: fetch(url) == "hello from v1\n", what="v1 again after undo")
    _replication_controller(shoal)
    _guestbook(shoal)


def _port_forward(shoal: Shoal) -> None:
    local = free_port()
    forward = subprocess.Popen(
        [*CLI, "--config", str(shoal.config), "port-forward", "service/hello", f"{local}:8080"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{local}/"
        assert until(lambda: fetch(url) == "hello from v1\n", 30, "port-forward answers")
    finally:
        forward.terminate()
        forward.wait(10)


def _running_pods(shoal: Shoal, selector: str) -> list[str]:
    path = '{range .items[?(@.status.phase=="Running")]}{.metadata.name} {end}'
    return shoal.jsonpath("get", "pods", "-l", selector, path=path).split()


def _self_healing(shoal: Shoal) -> None:
    before = set(_running_pods(shoal, "app=hello"))
    # busybox httpd ignores SIGTERM, so the victim stays Terminating for its
    # grace period; its replacement is what the tutorial watches for.
    shoal("delete", "pod", sorted(before)[0], "--no-wait")

    def healed() -> bool:
        return bool(set(_running_pods(shoal, "app=hello")) - before)

    until(healed, 90, "a replacement pod")


def _replication_controller(shoal: Shoal) -> None:
    shoal("apply", "-f", "-", stdin=RC)
    shoal("scale", "rc", "sleepers", "--replicas=10")
    ready = "{.status.readyReplicas}"
    until(lambda: shoal.jsonpath("get", "rc", "sleepers", path=ready) == "10", 120, "10 replicas")
    shoal("delete", "rc", "sleepers")


def _guestbook(shoal: Shoal) -> None:
    reason = unavailable_reason()
    why = f"the guestbook needs ClusterIPs (iptables proxy mode): {reason}"
    require("iptables", why if reason else None)
    shoal("apply", "-f", str(ROOT / "examples" / "guestbook.yaml"))
    rollout(shoal, "redis")
    rollout(shoal, "web")
    web = _running_pods(shoal, "app=web")[0]
    # From inside a web pod: the CGI reaches redis as redis:6379.
    page = "http://localhost:8080/cgi-bin/guestbook?add=inside"
    assert "inside" in shoal("exec", web, "--", "wget", "-qO-", page)
    node_port = shoal.jsonpath("get", "svc", "web", path="{.spec.ports[0].nodePort}")
    url = f"http://127.0.0.1:{node_port}/cgi-bin/guestbook?add=outside"
    assert until(lambda: fetch(url).split() == ["inside", "outside"], 30, "guestbook via node port")
