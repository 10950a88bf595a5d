"""Start a throwaway etcd cluster on loopback: for tests, benchmarks and
trying the etcd store out. Each member is a real ``etcd`` process with its own
data dir under ``base`` and free ports on 127.0.0.1.

    cluster = LocalEtcd(tmp_path, members=3)
    cluster.start()                 # returns once every member answers
    store = EtcdStore(cluster.endpoints)
    cluster.kill(1)                 # SIGKILL one member
    cluster.stop()
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass


class EtcdNotFoundError(RuntimeError):
    """No ``etcd`` binary (Debian: ``apt-get install etcd-server``)."""


def etcd_binary() -> str:
    found = os.environ.get("SHOAL_ETCD_BINARY") or shutil.which("etcd")
    if not found:
        raise EtcdNotFoundError("etcd is not installed (apt-get install etcd-server)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: pathlib.Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"


class LocalEtcd:
    """See the module docstring."""

    def __init__(self, base: pathlib.Path, members: int = 1, token: str = "shoal-test") -> None:
        self.base = base
        self.token = token
        self.members = [
            Member(f"m{i}", free_port(), free_port(), base / f"m{i}.etcd") for i in range(members)
        ]

    @property
    def endpoints(self) -> str:
        """Every member's client URL, comma-separated (as --etcd-endpoints takes them)."""
        return ",".join(m.client_url for m in self.members)

    def start(self, timeout: float = 30.0) -> None:
        for member in self.members:
            self._spawn(member, "new")
        for member in self.members:
            self.wait_healthy(member, timeout)

    def _spawn(self, member: Member, state: str) -> None:
        initial = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        log = open(self.base / f"{member.name}.log", "ab")  # noqa: SIM115 - kept by the process
        member.process = subprocess.Popen(
            [
                etcd_binary(),
                f"--name={member.name}",
                f"--data-dir={member.data_dir}",
                f"--listen-client-urls={member.client_url}",
                f"--advertise-client-urls={member.client_url}",
                f"--listen-peer-urls={member.peer_url}",
                f"--initial-advertise-peer-urls={member.peer_url}",
                f"--initial-cluster={initial}",
                f"--initial-cluster-state={state}",
                f"--initial-cluster-token={self.token}",
                "--heartbeat-interval=50",
                "--election-timeout=500",
                "--log-level=error",
                "--logger=zap",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_healthy(self, member: Member, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if member.process is not None and member.process.poll() is not None:
                raise RuntimeError(f"etcd {member.name} exited: see {self.base}/{member.name}.log")
            try:
                with urllib.request.urlopen(member.client_url + "/health", timeout=1) as r:
                    if b'"true"' in r.read():
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"etcd {member.name} not healthy after {timeout}s")

    def kill(self, index: int) -> None:
        """SIGKILL one member, as a crash would."""
        process = self.members[index].process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def restart(self, index: int, timeout: float = 30.0) -> None:
        """Start a killed member again on its data dir."""
        member = self.members[index]
        self._spawn(member, "existing")
        self.wait_healthy(member, timeout)

    def stop(self) -> None:
        for member in self.members:
            if member.process is not None and member.process.poll() is None:
                member.process.terminate()
        for member in self.members:
            if member.process is not None:
                try:
                    member.process.wait(10)
                except subprocess.TimeoutExpired:
                    member.process.kill()
                    member.process.wait()

    def __enter__(self) -> LocalEtcd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
