"""Starting the Podman service (plugins/runtimes/podman_service.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from shoal.plugins.runtimes import podman_service


def test_service_starts_in_the_socket_dir_not_the_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """conmon writes its ``oom`` file into the service's working directory."""
    started: list[dict[str, Any]] = []

    def popen(args: list[str], **kwargs: Any) -> Any:
        started.append({"args": args, **kwargs})
        return None

    monkeypatch.setattr(podman_service.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(podman_service.subprocess, "Popen", popen)
    caller = tmp_path / "checkout"
    caller.mkdir()
    monkeypatch.chdir(caller)
    socket = tmp_path / "run" / "podman" / "podman.sock"
    podman_service.start_service(f"unix://{socket}")
    [call] = started
    assert call["args"] == ["/usr/bin/podman", "system", "service", "--time=0", f"unix://{socket}"]
    assert Path(call["cwd"]) == socket.parent
    assert Path(call["cwd"]) != Path(os.getcwd())
