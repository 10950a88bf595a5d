"""Secrets at rest: Secret values are AES-GCM encrypted in the store, as
Kubernetes' EncryptionConfiguration does (``aesgcm`` provider), with a key
kept in the data directory (mode 0600, made on first start).

It is a storage transformer: :class:`EncryptingStore` wraps the store and
turns values under ``/registry/secrets/`` into ciphertext on the way in and
back on the way out, so everything above it — the registry, watches, the
no-op-update check — sees plain objects, and every other kind passes
through untouched. Values written before encryption was on (no prefix) are
read as they are and encrypted on their next write. The store key is the
associated data, so a ciphertext moved to another Secret's key fails.
"""

from __future__ import annotations

import base64
import os
import pathlib
from collections.abc import AsyncIterator
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from shoal.store import Event, KeyValue, Store, StoreError

PREFIX = b"shoal:enc:aesgcm:v1:"
ENCRYPTED_PREFIXES = ("/registry/secrets/",)
NONCE_BYTES = 12


class DecryptionError(StoreError):
    """A stored value could not be decrypted (wrong key, or tampered with)."""


def load_or_create_key(path: pathlib.Path) -> bytes:
    """The 256-bit key in ``path`` (base64), made with mode 0600 if missing."""
    if path.exists():
        key = base64.b64decode(path.read_text().strip())
        if len(key) != 32:
            raise ValueError(f"{path}: an encryption key must be 32 bytes (base64)")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(base64.b64encode(key).decode() + "\n")
    return key


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, key: str, value: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return PREFIX + nonce + self._aead.encrypt(nonce, value, key.encode())

    def open(self, key: str, value: bytes) -> bytes:
        if not value.startswith(PREFIX):
            return value  # written before encryption was turned on
        body = value[len(PREFIX) :]
        try:
            return self._aead.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], key.encode())
        except InvalidTag:
            raise DecryptionError(f"{key}: cannot decrypt (wrong encryption key?)") from None


def _encrypted(key: str) -> bool:
    return key.startswith(ENCRYPTED_PREFIXES)


def _overlaps(prefix: str) -> bool:
    return any(p.startswith(prefix) or prefix.startswith(p) for p in ENCRYPTED_PREFIXES)


class EncryptingStore:
    """A :class:`~shoal.store.Store` whose Secret values are encrypted."""

    def __init__(self, store: Store, box: SecretBox) -> None:
        self.inner = store
        self.box = box

    def __getattr__(self, name: str) -> Any:  # backend extras (paths, clients)
        return getattr(self.inner, name)

    def _open(self, kv: KeyValue | None) -> Any:
        if kv is None or not _encrypted(kv.key):
            return kv
        return KeyValue(
            kv.key, self.box.open(kv.key, kv.value), kv.create_revision, kv.mod_revision
        )

    def _seal(self, key: str, value: bytes) -> bytes:
        return self.box.seal(key, value) if _encrypted(key) else value

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def current_revision(self) -> int:
        return await self.inner.current_revision()

    async def compact_revision(self) -> int:
        return await self.inner.compact_revision()

    async def compact(self, revision: int) -> None:
        await self.inner.compact(revision)

    async def get(self, key: str) -> KeyValue | None:
        return self._open(await self.inner.get(key))  # type: ignore[no-any-return]

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> tuple[list[KeyValue], int]:
        kvs, at = await self.inner.list(prefix, revision, limit, start_after)
        if _overlaps(prefix):
            kvs = [self._open(kv) for kv in kvs]
        return kvs, at

    async def create(self, key: str, value: bytes) -> KeyValue:
        kv = await self.inner.create(key, self._seal(key, value))
        return KeyValue(kv.key, value, kv.create_revision, kv.mod_revision)

    async def update(self, key: str, value: bytes, expected_revision: int) -> KeyValue:
        kv = await self.inner.update(key, self._seal(key, value), expected_revision)
        return KeyValue(kv.key, value, kv.create_revision, kv.mod_revision)

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        return self._open(await self.inner.delete(key, expected_revision))  # type: ignore[no-any-return]

    def watch(self, prefix: str, revision: int) -> AsyncIterator[Event]:
        source = self.inner.watch(prefix, revision)
        return self._opened(source) if _overlaps(prefix) else source

    async def _opened(self, source: AsyncIterator[Event]) -> AsyncIterator[Event]:
        try:
            async for event in source:
                yield Event(event.type, self._open(event.kv), self._open(event.prev))
        finally:
            close = getattr(source, "aclose", None)
            if close is not None:
                await close()


def encrypting(store: Store, key_path: pathlib.Path) -> EncryptingStore:
    """``store`` with Secret values encrypted under the key at ``key_path``."""
    return EncryptingStore(store, SecretBox(load_or_create_key(key_path)))
