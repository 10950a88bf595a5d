"""``shoal server`` processes for the etcd tests (killed with SIGKILL, as a
crash would, by the tests that need it)."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys
import time
from typing import Any

import yaml

SHOAL = [sys.executable, "-m", "shoal.ctl.main"]


class ServerProcess:
    def __init__(self, data_dir: pathlib.Path, *args: str) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        with open(data_dir / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                [*SHOAL, "server", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0", *args],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self.address = self._wait_address()

    def client_config(self, server: str = "") -> Any:
        """The admin's config (CA and certificate), for ``server`` if given
        (several servers sharing one --pki-dir trust one CA)."""
        import dataclasses

        from shoal import config

        cfg = config.load(str(self.data_dir / "admin.conf"))
        return dataclasses.replace(cfg, server=server or cfg.server)

    def _wait_address(self, timeout: float = 30.0) -> str:
        conf = self.data_dir / "admin.conf"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.data_dir / "server.log").read_text()[-2000:]
                raise RuntimeError(f"server exited:\n{log}")
            if conf.exists():
                data = yaml.safe_load(conf.read_text())
                return str(data["clusters"][0]["cluster"]["server"])
            time.sleep(0.02)
        raise TimeoutError("server did not start")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
