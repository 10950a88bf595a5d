"""``shoal server --api-processes N``: N API server processes behind one
address, for more than one core.

This process (the parent) binds the listen addresses with SO_REUSEPORT (so
port 0 becomes one port for all, and no other program takes it), never
listens on them, and runs N children: each is a whole ``shoal server`` on
the same etcd, with ``SHOAL_API_PROCESS=i`` in its environment, binding the
same ports with SO_REUSEPORT; the kernel spreads new connections over them.
Each child watches the store itself; the controllers and the scheduler run
in every child but lead in one (leader election). The first child starts
alone (it makes the PKI, the encryption key, admin.conf and the join
token), the others once it answers.

Children get SIGTERM when the parent dies (PR_SET_PDEATHSIG); a child that
exits stops the others and the parent exits with an error naming it;
SIGINT or SIGTERM stop them all."""

from __future__ import annotations

import ctypes
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

from shoal.apiserver.listen import API_PROCESS_ENV, ListenError, split

PR_SET_PDEATHSIG = 1
STARTUP_SECONDS = 60.0
POLL_SECONDS = 0.2


def reserve(address: str) -> tuple[socket.socket, str]:
    """Bind ``address`` with SO_REUSEPORT without listening: the socket
    keeps the port for the children; returns it and HOST:PORT (port 0
    resolved)."""
    host, port = split(address)
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as err:
        raise ListenError(f"cannot listen on {address}: {err.strerror or err}") from None
    holder = socket.socket(family, kind, proto)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        holder.bind(sockaddr)
    except OSError as err:
        holder.close()
        reason = (err.strerror or str(err)).lower()
        raise ListenError(f"cannot listen on {address}: {reason}", err.errno) from None
    bound = holder.getsockname()[1]
    return holder, f"{address.rpartition(':')[0]}:{bound}"


def _die_with_parent() -> None:
    """Run in the child between fork and exec: SIGTERM when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class APIProcesses:
    def __init__(self, count: int, argv: Sequence[str], listen: str, data_dir: pathlib.Path):
        self.count, self.argv, self.listen, self.data_dir = count, list(argv), listen, data_dir
        self.children: list[subprocess.Popen[bytes]] = []
        self._stopping = False

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        env = {**os.environ, API_PROCESS_ENV: str(index)}
        return subprocess.Popen(
            [sys.executable, "-m", "shoal.ctl.main", *self.argv],
            env=env,
            preexec_fn=_die_with_parent,
        )

    def _wait_first(self, started: float) -> None:
        """Until the first child answers on the port and wrote admin.conf."""
        host, port = split(self.listen)
        host = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
        conf = self.data_dir / "admin.conf"
        first = self.children[0]
        while time.monotonic() < started + STARTUP_SECONDS and not self._stopping:
            if first.poll() is not None:
                raise SystemExit(f"shoal server: API process 0 exited ({first.returncode})")
            try:
                with socket.create_connection((host, port), timeout=1):
                    if conf.exists() and conf.stat().st_mtime >= self._started_at:
                        return
            except OSError:
                pass
            time.sleep(POLL_SECONDS)
        if not self._stopping:
            raise SystemExit("shoal server: API process 0 did not start")

    def _on_signal(self, signum: int, frame: object) -> None:
        self._stopping = True

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self._started_at = time.time() - 1  # mtime granularity
        try:
            self.children.append(self._spawn(0))
            self._wait_first(time.monotonic())
            self.children += [self._spawn(i) for i in range(1, self.count)]
            return self._supervise()
        finally:
            self._stop_all()

    def _supervise(self) -> int:
        while not self._stopping:
            for index, child in enumerate(self.children):
                if child.poll() is not None:
                    print(
                        f"shoal server: API process {index} (pid {child.pid}) exited with"
                        f" code {child.returncode}; stopping the others",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(POLL_SECONDS)
        return 0

    def _stop_all(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def run(count: int, argv: Sequence[str], listen: str, http_listen: str, data_dir: str) -> int:
    """Run ``count`` children of ``shoal ARGV`` (a ``server`` command line)
    sharing ``listen`` (and ``http_listen``); their exit status."""
    holders = []
    holder, listen = reserve(listen)
    holders.append(holder)
    extra = ["--api-processes", "1", "--listen", listen]
    if http_listen:
        holder, http_listen = reserve(http_listen)
        holders.append(holder)
        extra += ["--http-listen", http_listen]
    try:
        processes = APIProcesses(
            count, [*argv, *extra], listen, pathlib.Path(data_dir).expanduser()
        )
        return processes.run()
    finally:
        for holder in holders:
            holder.close()
