"""A secure in-process API server (TLS, authentication) and clients with
various credentials."""

from __future__ import annotations

import dataclasses
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import multidict
import pytest_asyncio
from shoal import auth, config, pki
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


@pytest_asyncio.fixture
async def gateway_url(secure_server: SecureServer) -> AsyncIterator[str]:
    """The secure HTTPS gateway in front of ``secure_server``."""
    from shoal.plugins.gateway.plugin import secure_gateway as _secure_gateway

    gateway = _secure_gateway(secure_server.address, secure_server.security)
    await gateway.start("127.0.0.1:0")
    try:
        yield gateway.url
    finally:
        await gateway.stop()
        await gateway.client.close()


@dataclass
class Answer:
    code: int
    body: Any


@dataclass
class SecureGateway:
    """The HTTPS gateway in front of ``server``, called with a certificate
    from the cluster CA for any user (and any headers, e.g. Impersonate-*)."""

    server: SecureServer
    url: str
    tmp_path: Path

    def tls(self, user: str, groups: tuple[str, ...] = ()) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.server.security.pki.ca_pem.decode())
        key = pki.new_key()
        cert = self.server.security.pki.ca.issue(
            user, groups, usage=pki.Usage(client=True), public_key=key.public_key()
        )
        crt, pem = self.tmp_path / f"{user}.crt", self.tmp_path / f"{user}.key"
        crt.write_bytes(pki.cert_pem(cert))
        pem.write_bytes(pki.key_pem(key))
        context.load_cert_chain(crt, pem)
        return context

    async def call(
        self,
        method: str,
        path: str,
        *,
        user: str = "admin",
        groups: tuple[str, ...] = (auth.ADMIN_GROUP,),
        body: Any = None,
        content_type: str = "application/json",
        headers: Any = (),
    ) -> Answer:
        sent = multidict.CIMultiDict(headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = content_type
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                method, self.url + path, ssl=self.tls(user, groups), data=data, headers=sent
            ) as answer,
        ):
            text = await answer.text()
            return Answer(answer.status, json.loads(text) if text.startswith("{") else text)


@pytest_asyncio.fixture
async def secure_gateway(
    secure_server: SecureServer, tmp_path: Path
) -> AsyncIterator[SecureGateway]:
    from shoal.plugins.gateway.plugin import secure_gateway as _secure_gateway

    gateway = _secure_gateway(secure_server.address, secure_server.security)
    await gateway.start("127.0.0.1:0")
    try:
        yield SecureGateway(secure_server, gateway.url, tmp_path)
    finally:
        await gateway.stop()
        await gateway.client.close()
