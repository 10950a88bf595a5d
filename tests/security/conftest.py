"""A secure in-process API server (TLS, authentication) and clients with
various credentials."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
from shoal import config, pki
from shoal.apiserver.security import ServerSecurity
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.store.sqlite import SQLiteStore

from tests.security.boundary import boundary  # noqa: F401 - the API boundary tests' fixture


@dataclass
class SecureServer:
    server: APIServer
    security: ServerSecurity
    address: str
    admin: Client

    def config(self, **fields: object) -> config.ClientConfig:
        """A client config with the cluster's CA and the given credentials."""
        base = config.ClientConfig(self.address, ca_data=self.security.pki.ca_pem)
        return dataclasses.replace(base, **fields)  # type: ignore[arg-type]

    def client(self, **fields: object) -> Client:
        return Client.for_config(self.config(**fields))

    def user_client(self, name: str, groups: tuple[str, ...] = (), **issue: object) -> Client:
        """A client with a certificate for ``name`` from the cluster's CA."""
        key = pki.new_key()
        cert = self.security.pki.ca.issue(
            name,
            groups,
            usage=pki.Usage(client=True),
            public_key=key.public_key(),
            **issue,  # type: ignore[arg-type]
        )
        return self.client(cert_data=pki.cert_pem(cert), key_data=pki.key_pem(key))


@pytest_asyncio.fixture
async def secure_server(tmp_path: Path) -> AsyncIterator[SecureServer]:
    security = ServerSecurity.load(tmp_path / "pki", pki.serving_names("127.0.0.1"))
    server = APIServer(SQLiteStore(tmp_path / "state.db", compact_interval=0), security=security)
    port = await server.start("127.0.0.1:0")
    address = f"127.0.0.1:{port}"
    pair = security.pki.ensure("admin")
    admin = Client.for_config(
        config.ClientConfig(
            address, ca_data=security.pki.ca_pem, cert_data=pair.cert_pem, key_data=pair.key_pem
        )
    )
    try:
        yield SecureServer(server, security, address, admin)
    finally:
        await admin.close()
        await server.stop(grace=0)
