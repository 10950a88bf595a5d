"""``shoal up``, ``shoal down``, ``shoal status``: a local cluster in the
background, like ``minikube start``. Data, logs and pid files live under
``--data-dir`` (default ``~/.shoal``); ``up`` merges a ``shoal`` context into
the client config so the next command reaches the cluster."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import click
from shoal.ctl.context import CtlContext

DEFAULT_HOME = "~/.shoal"


def _paths(home: str) -> dict[str, pathlib.Path]:
    root = pathlib.Path(home).expanduser()
    return {
        "root": root,
        "data": root / "server",
        "logs": root / "logs",
        "pid": root / "run" / "server.pid",
        "address": root / "run" / "server.address",
    }


def _running_pid(pid_file: pathlib.Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return None
    return pid


def healthy(address: str, timeout: float = 1.0) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        with grpc.insecure_channel(address) as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


def _wait_healthy(
    address: str, proc: subprocess.Popen[bytes], log: pathlib.Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise click.ClickException(
                "the server exited at start-up:\n  " + "\n  ".join(tail or ["(no output)"])
            )
        if healthy(address, timeout=0.5):
            return
        time.sleep(0.05)
    raise click.ClickException(
        f"the server did not become healthy within {timeout:.0f} s; see {log}"
    )


@click.command("up")
@click.option("--data-dir", "home", default=DEFAULT_HOME, show_default=True)
@click.option("--listen", default="127.0.0.1:6443", show_default=True, metavar="HOST:PORT")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for health.")
@click.pass_obj
def up_command(ctx: CtlContext, home: str, listen: str, timeout: float) -> None:
    """Set up and start a local cluster in the background.

    \b
    Examples:
      shoal up
      shoal up --listen 127.0.0.1:7443 --data-dir /tmp/shoal
    """
    from shoal import config

    paths = _paths(home)
    pid = _running_pid(paths["pid"])
    if pid is not None:
        address = paths["address"].read_text().strip()
        click.echo(f"shoal is already running (server pid {pid}, {address})")
        return
    for key in ("data", "logs"):
        paths[key].mkdir(parents=True, exist_ok=True)
    paths["pid"].parent.mkdir(parents=True, exist_ok=True)
    log_file = paths["logs"] / "server.log"
    started = time.monotonic()
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shoal.ctl.main",
                "server",
                "--data-dir",
                str(paths["data"]),
                "--listen",
                listen,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    paths["pid"].write_text(f"{proc.pid}\n")
    paths["address"].write_text(f"{listen}\n")
    _wait_healthy(listen, proc, log_file, timeout)
    cfg_path = config.config_path(ctx.config_path)
    try:
        data = config.read(cfg_path)
    except config.ConfigError:
        data = config.empty_config()
    config.write(cfg_path, config.set_context(data, "shoal", listen))
    click.echo(
        f"✓ API server ready at {listen} in {time.monotonic() - started:.1f} s "
        f"(pid {proc.pid}, logs {log_file})"
    )
    click.echo(f'✓ context "shoal" set in {cfg_path}; try: shoal version')


@click.command("down")
@click.option("--data-dir", "home", default=DEFAULT_HOME, show_default=True)
@click.option("--timeout", default=15.0, show_default=True)
def down_command(home: str, timeout: float) -> None:
    """Stop the local cluster started by `shoal up` (its data stays)."""
    paths = _paths(home)
    pid = _running_pid(paths["pid"])
    if pid is None:
        click.echo("shoal is not running")
        paths["pid"].unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _running_pid(paths["pid"]) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    if _running_pid(paths["pid"]) is not None:
        os.kill(pid, signal.SIGKILL)
    paths["pid"].unlink(missing_ok=True)
    click.echo(f"✓ server stopped (pid {pid})")


@click.command("status")
@click.option("--data-dir", "home", default=DEFAULT_HOME, show_default=True)
def status_command(home: str) -> None:
    """Show whether the local cluster's components run and answer."""
    paths = _paths(home)
    pid = _running_pid(paths["pid"])
    if pid is None:
        click.echo("server: Stopped")
        raise SystemExit(1)
    address = paths["address"].read_text().strip()
    state = "Running" if healthy(address) else "Running, not answering health checks"
    click.echo(f"server: {state} (pid {pid}, {address})")
