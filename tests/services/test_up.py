"""`shoal up / status / down --delete` with the fake runtime (no engine
needed), and `shoal server`'s service range flags."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "shoal.ctl.main"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shoal(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--config", str(tmp_path / "config"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_up_status_down_delete_with_the_fake_runtime(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    listen = f"127.0.0.1:{_free_port()}"
    try:
        up = _shoal(
            tmp_path,
            "up",
            "--data-dir",
            home,
            "--listen",
            listen,
            "--runtime",
            "fake",
            "--node-name",
            "solo",
        )
        assert up.returncode == 0, up.stderr
        assert "runtime: fake (asked for with --runtime)" in up.stdout
        assert 'node "solo" Ready' in up.stdout
        nodes = _shoal(tmp_path, "get", "nodes")
        assert "solo" in nodes.stdout and "Ready" in nodes.stdout
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


def test_server_refuses_bad_service_ranges(tmp_path: Path) -> None:
    bad_cidr = _shoal(tmp_path, "server", "--service-cluster-ip-range", "10.96.0.1/12")
    assert bad_cidr.returncode == 2
    assert "--service-cluster-ip-range" in bad_cidr.stderr and "not a CIDR" in bad_cidr.stderr
    assert "Traceback" not in bad_cidr.stderr
    bad_ports = _shoal(tmp_path, "server", "--service-node-port-range", "32767-30000")
    assert bad_ports.returncode == 2 and "--service-node-port-range" in bad_ports.stderr
