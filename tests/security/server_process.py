"""A real ``shoal server`` process for the tests that need one (resource
limits, file modes, restarts): started, found, stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml
from shoal.plugins.gateway.kubeconfig import HTTP_SERVER_KEY

from tests.integration.helpers import eventually


class ServerProcess:
    def __init__(
        self,
        data_dir: Path,
        *args: str,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        # A config from an earlier run names the earlier port.
        (data_dir / "admin.conf").unlink(missing_ok=True)
        command = [sys.executable, "-m", "shoal.ctl.main", "server"]
        command += ["--data-dir", str(data_dir), "--listen", "127.0.0.1:0", *args]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=preexec_fn
            )

    @property
    def admin_conf(self) -> Path:
        return self.data_dir / "admin.conf"

    def _cluster(self, key: str) -> str:
        assert self.proc.poll() is None, f"server exited: {self.log()[-2000:]}"
        if not self.admin_conf.exists():
            return ""
        for entry in yaml.safe_load(self.admin_conf.read_text())["clusters"]:
            return str(entry["cluster"].get(key, ""))
        return ""

    async def address(self) -> str:
        return str(await eventually(lambda: self._cluster("server"), timeout=30))

    async def http_url(self) -> str:
        """The gateway's URL (the server runs with --http-listen)."""
        return str(await eventually(lambda: self._cluster(HTTP_SERVER_KEY), timeout=30))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
