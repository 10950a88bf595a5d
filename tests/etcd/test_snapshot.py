"""``shoal snapshot save`` / ``restore`` for both stores: a snapshot taken
while a server runs, restored into a fresh data dir (or etcd prefix), read
back through a new server."""

from __future__ import annotations

import asyncio
import pathlib
import sys

import pytest
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.stores.etcd_local import LocalEtcd
from shoal.plugins.stores.etcd_store import EtcdStore
from shoal.testing import start_server

from tests.integration.helpers import pod


async def shoal(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shoal.ctl.main", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


def config_map(name: str) -> object:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    return from_dict({**manifest, "data": {"payload": name * 10}})


async def fill(server: APIServer) -> list[str]:
    async with Client(f"127.0.0.1:{server.port}") as client:
        await client.create(pod("web"))
        names = [f"cm-{i:03d}" for i in range(120)]
        await asyncio.gather(*(client.create(config_map(n)) for n in names))
        return names


async def read_back(server: APIServer, names: list[str]) -> None:
    async with Client(f"127.0.0.1:{server.port}") as client:
        assert (await client.get("Pod", "web")).spec.containers[0].name == "main"
        items = (await client.list("ConfigMap", "default")).items
        assert sorted(c.metadata.name for c in items) == names
        assert all(c.data["payload"] == c.metadata.name * 10 for c in items)
        await client.create(config_map("after-restore"))  # and it takes writes


async def etcd_server(etcd: LocalEtcd, prefix: str) -> APIServer:
    server = APIServer(EtcdStore(etcd.endpoints, prefix=prefix, compact_keep=0), store_name="etcd")
    await server.start("127.0.0.1:0")
    return server


async def test_sqlite_snapshot_while_serving_restores_into_fresh_data_dir(
    tmp_path: pathlib.Path,
) -> None:
    (tmp_path / "live").mkdir()
    server = await start_server(tmp_path / "live")
    try:
        names = await fill(server)
        code, out = await shoal(
            "snapshot", "save", str(tmp_path / "b.db"), "--data-dir", str(tmp_path / "live")
        )
        assert code == 0, out
        assert "keys" in out
    finally:
        await server.stop(grace=0)
    code, out = await shoal(
        "snapshot", "restore", str(tmp_path / "b.db"), "--data-dir", str(tmp_path / "new")
    )
    assert code == 0, out
    restored = await start_server(tmp_path / "new")
    try:
        await read_back(restored, names)
    finally:
        await restored.stop(grace=0)
    code, out = await shoal(
        "snapshot", "restore", str(tmp_path / "b.db"), "--data-dir", str(tmp_path / "new")
    )
    assert code == 1 and "empty data dir" in out and "Traceback" not in out


async def test_etcd_snapshot_restores_into_fresh_prefix_and_sqlite(
    etcd_one: LocalEtcd, etcd_prefix: str, tmp_path: pathlib.Path
) -> None:
    etcd_flags = ["--store", "etcd", "--etcd-endpoints", etcd_one.endpoints]
    server = await etcd_server(etcd_one, etcd_prefix)
    try:
        names = await fill(server)
        code, out = await shoal(
            "snapshot", "save", str(tmp_path / "b.dump"), *etcd_flags, "--etcd-prefix", etcd_prefix
        )
        assert code == 0, out
    finally:
        await server.stop(grace=0)
    fresh = etcd_prefix.rstrip("/") + "-restored/"
    code, out = await shoal(
        "snapshot", "restore", str(tmp_path / "b.dump"), *etcd_flags, "--etcd-prefix", fresh
    )
    assert code == 0, out
    restored = await etcd_server(etcd_one, fresh)
    try:
        await read_back(restored, names)
    finally:
        await restored.stop(grace=0)
    # The same dump restores into a SQLite data dir too.
    code, out = await shoal(
        "snapshot", "restore", str(tmp_path / "b.dump"), "--data-dir", str(tmp_path / "sq")
    )
    assert code == 0, out
    on_sqlite = await start_server(tmp_path / "sq")
    try:
        await read_back(on_sqlite, names)
    finally:
        await on_sqlite.stop(grace=0)


@pytest.mark.parametrize("content", [b"garbage", b'{"format": "other"}\n'])
async def test_restore_rejects_what_is_not_a_snapshot(
    tmp_path: pathlib.Path, content: bytes
) -> None:
    (tmp_path / "bad").write_bytes(content)
    code, out = await shoal(
        "snapshot", "restore", str(tmp_path / "bad"), "--data-dir", str(tmp_path / "d")
    )
    assert code == 1 and "Traceback" not in out
    assert "snapshot" in out
