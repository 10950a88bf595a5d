"""Secrets at rest: the store file holds no Secret plaintext; reads,
watches and no-op updates see plain objects; values stored before
encryption still read; a wrong key is an error, not garbage."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from shoal.apiserver.encryption import DecryptionError, encrypting
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.store.sqlite import SQLiteStore

from tests.integration.helpers import collect

PLAINTEXT = "correct-horse-battery-staple"


def secret(name: str, value: str = PLAINTEXT) -> object:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "stringData": {"pw": value},
        }
    )


def store_bytes(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data.glob("state.db*"))


async def run_server(data: Path, *, encrypted: bool = True) -> tuple[APIServer, Client]:
    store = SQLiteStore(data / "state.db", compact_interval=0)
    server = APIServer(encrypting(store, data / "encryption.key") if encrypted else store)
    port = await server.start("127.0.0.1:0")
    return server, Client(f"127.0.0.1:{port}")


async def test_the_store_file_holds_no_secret_plaintext(tmp_path: Path) -> None:
    server, client = await run_server(tmp_path)
    try:
        events = client.watch("secrets")
        await client.create(secret("db"))
        await client.create(
            from_dict(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "cm"},
                    "data": {"plain": "visible-config"},
                }
            )
        )
        assert (await client.get("secret", "db")).data["pw"] == PLAINTEXT.encode()
        [added] = await collect(events, 1)
        assert added.object.data["pw"] == PLAINTEXT.encode()
        stored = await client.get("secret", "db")
        again = await client.update(stored)  # unchanged: writes nothing, as before
        assert again.metadata.resource_version == stored.metadata.resource_version
        await client.patch("secret", "db", {"stringData": {"pw": "second-" + PLAINTEXT}})
        assert (await client.get("secret", "db")).data["pw"] == ("second-" + PLAINTEXT).encode()
    finally:
        await client.close()
        await server.stop(grace=0)
    raw = store_bytes(tmp_path)
    assert PLAINTEXT.encode() not in raw
    assert b"visible-config" in raw  # other kinds are stored as they were
    mode = stat.S_IMODE(os.stat(tmp_path / "encryption.key").st_mode)
    assert mode == 0o600


async def test_secrets_written_before_encryption_still_read(tmp_path: Path) -> None:
    server, client = await run_server(tmp_path, encrypted=False)
    await client.create(secret("old"))
    await client.close()
    await server.stop(grace=0)
    assert PLAINTEXT.encode() in store_bytes(tmp_path)
    server, client = await run_server(tmp_path)
    try:
        assert (await client.get("secret", "old")).data["pw"] == PLAINTEXT.encode()
        await client.create(secret("new", "fresh-" + PLAINTEXT))
        assert [s.metadata.name for s in (await client.list("secrets")).items] == ["new", "old"]
    finally:
        await client.close()
        await server.stop(grace=0)
    assert b"fresh-" + PLAINTEXT.encode() not in store_bytes(tmp_path)


async def test_a_wrong_key_is_an_error(tmp_path: Path) -> None:
    store = encrypting(SQLiteStore(tmp_path / "state.db", compact_interval=0), tmp_path / "a.key")
    await store.start()
    await store.create("/registry/secrets/default/x", b"value")
    await store.close()
    other = encrypting(SQLiteStore(tmp_path / "state.db", compact_interval=0), tmp_path / "b.key")
    await other.start()
    try:
        with pytest.raises(DecryptionError, match="wrong encryption key"):
            await other.get("/registry/secrets/default/x")
    finally:
        await other.close()
