"""A full disk under the SQLite store: writes are refused with
RESOURCE_EXHAUSTED (REST: 507) saying so, reads and deletes keep working,
and writes resume once there is room again. On a real small filesystem: a
tmpfs of a few MiB, mounted for the test (needs root)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
import pytest_asyncio
from shoal import errors
from shoal.apiserver.server import APIServer, open_store
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.gateway import Gateway

from tests.requirements import require

SIZE = "12m"
VALUE = "x" * 60_000  # each ConfigMap takes a good share of a MiB with its history


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    require("root", None if os.geteuid() == 0 else "mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@dataclass
class Cluster:
    client: Client
    url: str


@pytest_asyncio.fixture
async def cluster(small_disk: Path) -> AsyncIterator[Cluster]:
    # The audit log on the same disk, as `shoal server` keeps it.
    store = open_store("sqlite", small_disk, {"compact_interval": 0})  # as `shoal server` does
    server = APIServer(store, audit=small_disk / "audit.log")
    port = await server.start("127.0.0.1:0")
    client = Client(f"127.0.0.1:{port}")
    gateway = Gateway(client)
    await gateway.start("127.0.0.1:0")
    try:
        yield Cluster(client, gateway.url)
    finally:
        await gateway.stop()
        await client.close()
        await server.stop(grace=0)


def _config_map(name: str) -> Any:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"},
            "data": {"blob": VALUE},
        }
    )


def _fill(directory: Path, name: str = "filler") -> Path:
    """A file taking every free byte of the filesystem. Unbuffered: a
    buffered file would raise ENOSPC again when it flushes on close."""
    filler = directory / name
    with open(filler, "wb", buffering=0) as out:
        for size in (65536, 512, 1):  # big writes, then the last few bytes
            with contextlib.suppress(OSError):
                while out.write(b"\0" * size):
                    pass
    return filler


async def _rest(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.request(method, url + path, json=body) as r:
        text = await r.text()
        return r.status, json.loads(text) if text.startswith("{") else text


async def _names(client: Client) -> list[str]:
    return sorted(c.metadata.name for c in (await client.list("ConfigMap", "default")).items)


async def test_full_disk_refuses_writes_keeps_reads_and_deletes(
    cluster: Cluster, small_disk: Path
) -> None:
    client = cluster.client
    await client.create(_config_map("before"))
    await client.create(_config_map("before-2"))
    filler = _fill(small_disk)
    # The store may still have room in its own files: write until refused.
    refusal: errors.APIError | None = None
    for i in range(200):
        try:
            await client.create(_config_map(f"cm-{i}"))
        except errors.APIError as err:
            refusal = err
            break
    assert refusal is not None, "the disk never filled up"
    assert refusal.code == grpc.StatusCode.RESOURCE_EXHAUSTED, refusal
    assert isinstance(refusal, errors.InsufficientStorageError)
    assert "disk is full" in refusal.message
    stored = await _names(client)  # reads work
    assert "before" in stored and f"cm-{i}" not in stored

    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-rest"},
            "data": {"blob": VALUE}}  # fmt: skip
    code, status = await _rest(cluster.url, "POST", "/api/v1/namespaces/default/configmaps", body)
    assert (code, status["reason"]) == (507, "InsufficientStorage"), status
    assert "disk is full" in status["message"]
    code, _ = await _rest(cluster.url, "GET", "/api/v1/namespaces/default/configmaps/before")
    assert code == 200
    assert await _names(client) == stored  # nothing changed

    # Deletes still work on the full disk, over gRPC and REST.
    await client.delete("ConfigMap", "before", "default")
    victim = "before-2"
    code, _ = await _rest(cluster.url, "DELETE", f"/api/v1/namespaces/default/configmaps/{victim}")
    assert code == 200
    assert await _names(client) == sorted(set(stored) - {"before", victim})
    with pytest.raises(errors.InsufficientStorageError):  # still full for writes
        await client.create(_config_map(f"again-{uuid.uuid4().hex[:6]}"))

    # Not a byte left, not even for the audit log: reads still answer.
    second = _fill(small_disk, "filler-2")
    for _ in range(50):  # more lines than the audit log's last page holds
        await _names(client)
    code, _ = await _rest(cluster.url, "GET", "/api/v1/namespaces/default/configmaps")
    assert code == 200

    filler.unlink()  # room again: writes resume
    second.unlink()
    created = await client.create(_config_map("after"))
    assert created.metadata.name == "after"
