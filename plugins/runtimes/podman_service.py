"""Find the Podman service socket, starting ``podman system service`` when
none answers (Podman has no always-on daemon, unlike Docker).

Containers do not depend on the service process (each has its own
``conmon``), so a service started here is left running for the next agent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger().bind(component="runtime", runtime="podman")

SERVICE_START_TIMEOUT = 15.0


class PodmanUnavailable(RuntimeError):
    """No Podman service answers and none could be started."""


def default_socket_url(env: dict[str, str] | None = None) -> str:
    """``CONTAINER_HOST``, else root's or the user's well-known socket."""
    env = dict(os.environ) if env is None else env
    if env.get("CONTAINER_HOST"):
        return env["CONTAINER_HOST"]
    if os.geteuid() == 0:
        return "unix:///run/podman/podman.sock"
    runtime_dir = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return f"unix://{runtime_dir}/podman/podman.sock"


def connect(url: str = "", start: bool = True, timeout: float = SERVICE_START_TIMEOUT) -> Any:
    """A ``podman.PodmanClient`` whose service answers ``ping``."""
    import podman

    url = url or default_socket_url()
    client = podman.PodmanClient(base_url=url, timeout=120)
    if _answers(client):
        return client
    if not start or not url.startswith("unix://"):
        raise PodmanUnavailable(f"no Podman service answers at {url}")
    start_service(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(client):
            return client
        time.sleep(0.1)
    raise PodmanUnavailable(f"started 'podman system service' but {url} did not answer")


def _answers(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def start_service(url: str) -> subprocess.Popen[bytes]:
    """Start ``podman system service --time=0 URL`` detached, logging next
    to the socket.

    It runs in the socket's directory, never the caller's: Podman 4.3 starts
    each container's ``conmon`` in the service's working directory, and conmon
    writes its ``oom`` marker there (so it would land in whatever checkout or
    home the agent was started from)."""
    binary = shutil.which("podman")
    if binary is None:
        raise PodmanUnavailable("podman is not installed (Debian: apt-get install podman)")
    socket_path = Path(url.removeprefix("unix://"))
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = socket_path.parent / "shoal-podman-service.log"
    log.info("starting podman system service", socket=str(socket_path), log=str(log_path))
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            [binary, "system", "service", "--time=0", url],
            cwd=socket_path.parent,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,  # outlives the agent, like a daemon
        )
