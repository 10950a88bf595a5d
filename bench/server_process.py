"""A `shoal server` in its own process for benchmarks, so the load generator
and the server don't share one interpreter's GIL."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import time
from typing import Any

import yaml


class ServerProcess:
    """``secure=False`` (what the older benchmarks measure) serves plain gRPC
    on loopback (``--insecure``); ``secure=True`` is the default server: TLS
    and authentication, reached with ``client_config()``."""

    def __init__(self, data_dir: pathlib.Path, *extra: str, secure: bool = False) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self._log = open(data_dir / "server.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shoal.ctl.main",
                "server",
                "--data-dir",
                str(data_dir),
                "--listen",
                "127.0.0.1:0",
                "--log-level",
                "warning",
                *([] if secure else ["--insecure"]),
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        self.address = self._wait_address()

    def _wait_address(self, timeout: float = 30.0) -> str:
        conf = self.data_dir / "admin.conf"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited; see {self.data_dir / 'server.log'}")
            if conf.exists():
                return str(yaml.safe_load(conf.read_text())["clusters"][0]["cluster"]["server"])
            time.sleep(0.02)
        raise TimeoutError("server did not start")

    def client_config(self) -> Any:
        from shoal import config

        return config.load(str(self.data_dir / "admin.conf"))

    def rss_bytes(self) -> int:
        for line in pathlib.Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        fields = pathlib.Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        import os

        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
