"""The data dir holds every object (ConfigMaps, env values, RBAC), the
keys and the audit log: no other local user may read any of it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from shoal.client import Client
from shoal.manifest import from_dict

from tests.security.server_process import ServerProcess


def _config_map(name: str) -> object:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"},
            "data": {"password": "hunter2"},
        }
    )


async def _write_some(server: ServerProcess, prefix: str) -> None:
    await server.address()
    async with Client.from_config(str(server.admin_conf)) as client:
        for i in range(5):
            await client.create(_config_map(f"{prefix}-{i}"))


def _loose(root: Path) -> list[str]:
    """Every path under ``root`` (root included) a group or other user may use."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(root)}: {oct(mode)}")
    return found


async def test_data_dir_and_every_file_in_it_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data)
    try:
        await _write_some(server, "first")
    finally:
        server.stop()
    server = ServerProcess(data)  # a restart opens the store again
    try:
        await _write_some(server, "second")
        wal = [p.name for p in data.iterdir() if p.name.endswith(("-wal", "-shm"))]
        assert wal, "the store runs in WAL mode: its -wal/-shm files are among those checked"
        snapshot = data / "backup.db"
        subprocess.run(
            [sys.executable, "-m", "shoal.ctl.main", "snapshot", "save", str(snapshot),
             "--data-dir", str(data)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        assert _loose(data) == []
        for must in ("state.db", "audit.log", "pki/ca.key", "pki/tokens.json", "backup.db"):
            assert (data / must).exists(), must
    finally:
        server.stop()


async def test_loose_files_of_an_older_server_are_fixed_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data)
    try:
        await _write_some(server, "first")
    finally:
        server.stop()
    os.chmod(data, 0o755)
    os.chmod(data / "state.db", 0o644)
    os.chmod(data / "pki", 0o755)
    server = ServerProcess(data)
    try:
        await server.address()
        assert _loose(data) == []
        assert "state.db" in server.log() and "was readable by other users" in server.log()
    finally:
        server.stop()


def test_agent_data_dir_is_private_and_pod_volumes_keep_their_modes(tmp_path: Path) -> None:
    from shoal.hardening import private_agent_dir

    agent = tmp_path / "agent"
    (agent / "pki").mkdir(parents=True)
    (agent / "pki" / "node.key").write_text("key")
    volume = agent / "pods" / "uid" / "volumes" / "config"
    volume.mkdir(parents=True)
    (volume / "app.conf").write_text("x")
    for path, mode in ((agent, 0o755), (agent / "pki", 0o755), (agent / "pki" / "node.key", 0o644),
                       (volume, 0o755), (volume / "app.conf", 0o644)):  # fmt: skip
        os.chmod(path, mode)
    private_agent_dir(agent)
    assert stat.S_IMODE(agent.stat().st_mode) == 0o700  # no other user gets past it
    assert _loose(agent / "pki") == []
    # A container running as another user reads its ConfigMap through its mount.
    assert stat.S_IMODE((volume / "app.conf").stat().st_mode) == 0o644
