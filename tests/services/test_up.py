"""`shoal up / status / down --delete` with the fake runtime (no engine
needed), and `shoal server`'s service range and listen flags."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from shoal import config

CLI = [sys.executable, "-m", "shoal.ctl.main"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shoal(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    config_flag = [] if env and "SHOAL_CONFIG" in env else ["--config", str(tmp_path / "config")]
    return subprocess.run(
        [*CLI, *config_flag, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def _user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A HOME of the test's own, so a default ~/.shoal is never the real one."""
    return {"HOME": str(tmp_path / "user"), **extra}


def _up(tmp_path: Path, home: Path, listen: str, env: dict[str, str]) -> Any:
    # the gateway on a port of its own choosing: listen + 1 may be some
    # connection's ephemeral port on a busy test machine
    args = ["up", "--data-dir", str(home), "--listen", listen, "--runtime", "fake"]
    args += ["--http-listen", "127.0.0.1:0", "--dashboard-listen", "127.0.0.1:0"]
    return _shoal(tmp_path, *args, "--node-name", "solo", env=env)


@contextmanager
def _held(port: int) -> Iterator[None]:
    """Another program listening on the port."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", port))
        other.listen()
        yield


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        probe.listen()
        return True


def test_up_status_down_delete_with_the_fake_runtime(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    listen = f"127.0.0.1:{_free_port()}"
    gateway = f"127.0.0.1:{_free_port()}"
    try:
        up = _shoal(
            tmp_path,
            "up",
            "--data-dir",
            home,
            "--listen",
            listen,
            "--http-listen",
            gateway,
            "--dashboard-listen",
            "127.0.0.1:0",
            "--runtime",
            "fake",
            "--node-name",
            "solo",
        )
        assert up.returncode == 0, up.stderr
        assert "runtime: fake (asked for with --runtime)" in up.stdout
        assert 'node "solo" Ready' in up.stdout
        # the dashboard add-on: up says where it is, `shoal dashboard --url` too
        said = [line for line in up.stdout.splitlines() if "✓ dashboard: https://" in line]
        assert said, up.stdout
        url = said[0].split()[2]
        printed = _shoal(tmp_path, "dashboard", "--url", "--data-dir", home)
        assert printed.returncode == 0 and printed.stdout.strip() == url, printed.stderr
        login = urllib.request.urlopen(url, context=ssl._create_unverified_context(), timeout=10)
        assert "needs a bearer token" in login.read().decode()  # a secure cluster: sign in
        nodes = _shoal(tmp_path, "get", "nodes")
        assert "solo" in nodes.stdout and "Ready" in nodes.stdout
        # the REST gateway runs beside the API, and pods find it through the
        # kubernetes Service
        assert _eventually_shows(tmp_path, ["get", "endpoints", "kubernetes"], gateway)
        svc = _shoal(tmp_path, "get", "svc", "kubernetes", "-o", "wide")
        assert "10.96.0.1" in svc.stdout and "443/TCP" in svc.stdout, svc.stdout
        # the DNS add-on's Service, and the metrics add-on: `shoal top` shows usage
        dns = _shoal(tmp_path, "get", "svc", "kube-dns", "-n", "kube-system")
        assert "10.96.0.10" in dns.stdout and "53/UDP" in dns.stdout, dns.stdout + dns.stderr
        assert _eventually_shows(tmp_path, ["top", "nodes"], "solo", timeout=60)
        status = _shoal(tmp_path, "status", "--data-dir", home)
        assert status.returncode == 0
        assert (
            "server: Running" in status.stdout and "agent: Running (runtime fake" in status.stdout
        )
        assert "node solo: Ready=True" in status.stdout
        again = _shoal(tmp_path, "up", "--data-dir", home, "--listen", listen, "--runtime", "fake")
        assert "already running" in again.stdout
    finally:
        down = _shoal(tmp_path, "down", "--data-dir", home, "--delete")
    assert "agent stopped" in down.stdout and "server stopped" in down.stdout
    assert not (tmp_path / "home" / "server").exists()
    stopped = _shoal(tmp_path, "status", "--data-dir", home)
    assert stopped.returncode == 1 and "server: Stopped" in stopped.stdout
    gone = _shoal(tmp_path, "dashboard", "--url", "--data-dir", home)
    assert gone.returncode == 1 and "shoal is not running here" in gone.stderr


def _eventually_shows(tmp_path: Path, args: list[str], text: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in _shoal(tmp_path, *args).stdout:
            return True
        time.sleep(0.2)
    raise AssertionError(f"`shoal {' '.join(args)}` did not show {text} within {timeout} s")


def test_server_refuses_bad_service_ranges(tmp_path: Path) -> None:
    bad_cidr = _shoal(tmp_path, "server", "--service-cluster-ip-range", "10.96.0.1/12")
    assert bad_cidr.returncode == 2
    assert "--service-cluster-ip-range" in bad_cidr.stderr and "not a CIDR" in bad_cidr.stderr
    assert "Traceback" not in bad_cidr.stderr
    bad_ports = _shoal(tmp_path, "server", "--service-node-port-range", "32767-30000")
    assert bad_ports.returncode == 2 and "--service-node-port-range" in bad_ports.stderr
    bad_address = _shoal(tmp_path, "server", "--advertise-address", "api.example")
    assert bad_address.returncode == 2
    assert "'--advertise-address': \"api.example\" is not an IP address" in bad_address.stderr


def test_status_and_down_follow_the_context_up_wrote(tmp_path: Path) -> None:
    """`up --data-dir X` remembers X in its context: status, down and
    down --delete without --data-dir act on X, not on ~/.shoal."""
    env = _user_env(tmp_path)
    home = tmp_path / "elsewhere"
    try:
        up = _up(tmp_path, home, f"127.0.0.1:{_free_port()}", env)
        assert up.returncode == 0, up.stderr
        status = _shoal(tmp_path, "status", env=env)
        assert status.returncode == 0, status.stdout
        assert "server: Running" in status.stdout and str(home / "logs") in status.stdout
        other = _shoal(tmp_path, "status", "--data-dir", str(tmp_path / "other"), env=env)
        assert other.returncode == 1 and "server: Stopped" in other.stdout  # explicit wins
        down = _shoal(tmp_path, "down", env=env)
        assert "agent stopped" in down.stdout and "server stopped" in down.stdout
        assert (home / "server").is_dir()  # stopped, not deleted
        deleted = _shoal(tmp_path, "down", "--delete", env=env)
        assert deleted.returncode == 0, deleted.stderr
        assert f"cluster data deleted from {home}" in deleted.stdout
        assert not (home / "server").exists()
        assert not (tmp_path / "user" / ".shoal").exists()
        contexts = config.read(tmp_path / "config")["contexts"]
        assert [c["name"] for c in contexts] == []  # as minikube delete drops its context
    finally:
        _shoal(tmp_path, "down", "--data-dir", str(home), env=env)


def test_up_writes_its_context_where_shoal_config_points(tmp_path: Path) -> None:
    cfg = tmp_path / "some" / "file"
    env = _user_env(tmp_path, SHOAL_CONFIG=str(cfg))
    home = tmp_path / "home"
    try:
        up = _up(tmp_path, home, f"127.0.0.1:{_free_port()}", env)
        assert up.returncode == 0, up.stderr
        assert f'context "shoal" set in {cfg}' in up.stdout
        nodes = _shoal(tmp_path, "get", "nodes", env=env)
        assert nodes.returncode == 0 and "solo" in nodes.stdout, nodes.stderr
        assert not (tmp_path / "user" / ".shoal").exists()
    finally:
        _shoal(tmp_path, "down", "--data-dir", str(home), env=env)


def test_a_failed_up_stops_the_server_it_started(tmp_path: Path) -> None:
    env = _user_env(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    (home / "agent").write_text("a file where the agent's data directory goes\n")
    port = _free_port()
    try:
        up = _up(tmp_path, home, f"127.0.0.1:{port}", env)
        assert up.returncode == 1, up.stdout
        error = up.stderr.strip().splitlines()[-1]
        assert "agent exited at start-up" in error and str(home / "logs" / "agent.log") in error
        assert "Traceback" not in up.stderr
        assert _bindable(port), "the server of the failed up still holds its port"
        status = _shoal(tmp_path, "status", "--data-dir", str(home), env=env)
        assert "server: Stopped" in status.stdout and "agent: Stopped" in status.stdout
    finally:
        _shoal(tmp_path, "down", "--data-dir", str(home), env=env)


def test_up_says_which_address_is_in_use(tmp_path: Path) -> None:
    port = _free_port()
    listen = f"127.0.0.1:{port}"
    with _held(port):
        up = _up(tmp_path, tmp_path / "home", listen, _user_env(tmp_path))
    assert up.returncode == 1
    assert up.stderr.strip().splitlines() == [
        f"Error: cannot listen on {listen}: address already in use "
        "(is another cluster running?); pick another address with --listen HOST:PORT"
    ]
    assert not (tmp_path / "home" / "run" / "server.pid").exists()  # nothing was started


def test_server_says_which_address_is_in_use(tmp_path: Path) -> None:
    port = _free_port()
    listen = f"127.0.0.1:{port}"
    with _held(port):
        server = _shoal(
            tmp_path, "server", "--data-dir", str(tmp_path / "data"), "--listen", listen
        )
    assert server.returncode == 1
    assert server.stderr.strip().splitlines()[-1:] == [
        f"Error: cannot listen on {listen}: address already in use "
        "(pick another address with --listen)"
    ]
    assert "add_port" not in server.stderr and "Traceback" not in server.stderr


async def test_a_lost_race_for_the_port_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Free when checked, taken by the time gRPC binds: the same clear
    error, and gRPC's own log line does not reach stderr."""
    from shoal.apiserver import listen as listening
    from shoal.apiserver.server import APIServer
    from shoal.store.sqlite import SQLiteStore

    monkeypatch.setattr(listening, "check_free", lambda address: None)
    port = _free_port()
    server = APIServer(SQLiteStore(tmp_path / "db.sqlite"))
    with _held(port), pytest.raises(listening.ListenError, match="address already in use"):
        await server.start(f"127.0.0.1:{port}")
    await server.stop()
    assert "add_port" not in capfd.readouterr().err


def test_up_serves_the_gateway_beside_the_api_by_default() -> None:
    from shoal.ctl.cluster import _server_args, default_http_listen
    from shoal.ctl.localcluster import Paths

    assert default_http_listen("127.0.0.1:6443") == "127.0.0.1:6444"
    assert default_http_listen("[::1]:7443") == "[::1]:7444"
    args = _server_args(Paths.under("/tmp/x"), "127.0.0.1:6443", "127.0.0.1:6444")
    assert args[args.index("--http-listen") + 1] == "127.0.0.1:6444"
