"""The pieces of ``shoal up``: where a local cluster keeps its files, which
runtime it picks, how its background processes start, stop and answer."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

COMPONENTS = ("server", "agent")


@dataclass(frozen=True)
class Paths:
    root: pathlib.Path

    @classmethod
    def under(cls, home: str) -> Paths:
        # Absolute: the context remembers it for commands run from elsewhere.
        return cls(pathlib.Path(home).expanduser().absolute())

    def data(self, component: str) -> pathlib.Path:
        return self.root / component

    def log(self, component: str) -> pathlib.Path:
        return self.root / "logs" / f"{component}.log"

    def pid(self, component: str) -> pathlib.Path:
        return self.root / "run" / f"{component}.pid"

    @property
    def state(self) -> pathlib.Path:
        return self.root / "run" / "cluster.json"

    def read_state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.state.read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def write_state(self, state: dict[str, Any]) -> None:
        self.state.parent.mkdir(parents=True, exist_ok=True)
        self.state.write_text(json.dumps(state, indent=2) + "\n")


# -- the runtime ----------------------------------------------------------------


def pick_runtime(wanted: str = "auto") -> tuple[str, str]:
    """(runtime, why): Docker if its daemon answers, else Podman, else fake."""
    if wanted != "auto":
        return wanted, "asked for with --runtime"
    docker_error = _docker_error()
    if docker_error is None:
        return "docker", "the Docker daemon answers"
    podman_error = _podman_error()
    if podman_error is None:
        return "podman", f"Docker is not usable ({docker_error}); the Podman service answers"
    return "fake", (
        f"neither Docker ({docker_error}) nor Podman ({podman_error}) answers; "
        "pods run as simulated containers"
    )


def _docker_error() -> str | None:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        return _short(exc)
    return None


def _podman_error() -> str | None:
    try:
        from shoal.plugins.runtimes.podman_service import connect

        connect(timeout=5).close()
    except Exception as exc:
        return _short(exc)
    return None


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def ensure_tutorial_images(runtime: str) -> None:
    """Build shoal.local/busybox (no registry is needed) where the engine lacks it."""
    if runtime not in ("docker", "podman"):
        return
    from shoal.plugins.runtimes.images import BUSYBOX_IMAGE, ensure_local_images

    if runtime == "docker":
        import docker

        client = docker.from_env(timeout=120)
    else:
        from shoal.plugins.runtimes.podman_service import connect

        client = connect()
    ensure_local_images(client, images=(BUSYBOX_IMAGE,))


# -- processes ------------------------------------------------------------------


def running_pid(paths: Paths, component: str) -> int | None:
    try:
        pid = int(paths.pid(component).read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def spawn(paths: Paths, component: str, args: list[str]) -> subprocess.Popen[bytes]:
    """``shoal <args>`` in its own session, output to the component's log."""
    for path in (paths.log(component), paths.pid(component)):
        path.parent.mkdir(parents=True, exist_ok=True)
    with open(paths.log(component), "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shoal.ctl.main", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=_child_env(),
        )
    paths.pid(component).write_text(f"{proc.pid}\n")
    return proc


def _child_env() -> dict[str, str]:
    """Without SHOAL_CONFIG: it names the file `up` writes its context into
    (it may not exist yet, or hold another cluster), while the server and
    agent it starts find everything in their own flags and data dirs."""
    return {k: v for k, v in os.environ.items() if k != "SHOAL_CONFIG"}


def stop_child(paths: Paths, component: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop a process this one started (``stop`` would wait on its zombie)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    paths.pid(component).unlink(missing_ok=True)


def stop(paths: Paths, component: str, timeout: float) -> int | None:
    """SIGTERM, then SIGKILL after ``timeout``; the pid stopped, if any."""
    pid = running_pid(paths, component)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while running_pid(paths, component) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        if running_pid(paths, component) is not None:
            os.kill(pid, signal.SIGKILL)
    paths.pid(component).unlink(missing_ok=True)
    return pid


def last_words(paths: Paths, component: str) -> str:
    """The last line of a component's log: what it said as it exited."""
    tail = log_tail(paths, component, lines=1)
    for prefix in ("Error: ", "error: "):
        tail = tail.removeprefix(prefix)
    return tail


def log_tail(paths: Paths, component: str, lines: int = 5) -> str:
    try:
        text = paths.log(component).read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n  ".join(text[-lines:]) or "(no output)"


def admin_config(paths: Paths) -> pathlib.Path:
    return paths.data("server") / "admin.conf"


def ca_pem(paths: Paths) -> bytes:
    try:
        return (paths.data("server") / "pki" / "ca.crt").read_bytes()
    except FileNotFoundError:
        return b""


def healthy(address: str, timeout: float = 1.0, ca: bytes = b"") -> bool:
    """Whether the server answers its (unauthenticated) health check, over
    TLS verified with ``ca`` when given."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        channel = (
            grpc.secure_channel(address, grpc.ssl_channel_credentials(ca))
            if ca
            else grpc.insecure_channel(address)
        )
        with channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


def node_name() -> str:
    return socket.gethostname().lower()


async def node_ready(client: Any, name: str) -> str | None:
    """The node's Ready condition status ("True", "False", "Unknown"), or
    None when it has not registered yet (or the server does not answer)."""
    from shoal import errors

    try:
        node = await client.get("Node", name)
    except (errors.APIError, OSError):
        return None
    for condition in node.status.conditions:
        if condition.type == "Ready":
            return str(condition.status)
    return "Unknown"


async def remove_node_pods(runtime: str, node: str) -> int:
    """Remove every pod sandbox (and its containers) the node's agent made."""
    from shoal import plugin_manager

    engine = plugin_manager.runtimes().get(runtime)({"node_name": node})
    try:
        sandboxes = await engine.list_pod_sandboxes()
        for sandbox in sandboxes:
            await engine.remove_pod_sandbox(sandbox.id)
        return len(sandboxes)
    finally:
        await engine.close()
