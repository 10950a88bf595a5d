"""A secure server with the REST gateway and callers of every standing, for
the tests of the API boundary's limits: a service account with no rights,
a viewer, an editor, and two more viewers (a victim and a flooder)."""

from __future__ import annotations

import dataclasses
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from shoal import config, pki
from shoal.apiserver.audit import MemoryAudit
from shoal.apiserver.fairness import RequestLimits
from shoal.apiserver.security import ServerSecurity
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.plugins.gateway.plugin import secure_gateway as _secure_gateway
from shoal.store.sqlite import SQLiteStore

from tests.security.authz_helpers import binding, until_allowed

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
# Small enough that a test's flood overflows it, large enough for one caller.
TEST_LIMITS = RequestLimits(
    max_inflight_per_user=2, queue_length_per_user=2, queue_wait_seconds=0.5
)
USERS = {"viewer": "view", "editor": "edit", "victim": "view", "flooder": "view"}
NOBODY = "system:serviceaccount:default:nobody"


@dataclass
class Answer:
    code: int
    body: Any
    headers: Any


@dataclass
class Boundary:
    server: APIServer
    security: ServerSecurity
    address: str
    url: str
    admin: Client
    tmp: Path
    audit: MemoryAudit
    clients: dict[str, Client] = field(default_factory=dict)
    sessions: dict[str, aiohttp.ClientSession] = field(default_factory=dict)
    nobody_token: str = ""

    def issue(self, name: str, groups: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
        key = pki.new_key()
        cert = self.security.pki.ca.issue(
            name, groups, usage=pki.Usage(client=True), public_key=key.public_key()
        )
        return pki.cert_pem(cert), pki.key_pem(key)

    def client(self, **fields: Any) -> Client:
        base = config.ClientConfig(self.address, ca_data=self.security.pki.ca_pem)
        return Client.for_config(dataclasses.replace(base, **fields))

    def session(self, user: str) -> aiohttp.ClientSession:
        """An HTTPS session for ``user`` (a certificate; ``nobody``: its token)."""
        if user not in self.sessions:
            context = ssl.create_default_context(cadata=self.security.pki.ca_pem.decode())
            headers = {}
            if user == "nobody":
                headers["Authorization"] = f"Bearer {self.nobody_token}"
            else:
                cert, key = self.issue(user)
                (self.tmp / f"{user}.crt").write_bytes(cert)
                (self.tmp / f"{user}.key").write_bytes(key)
                context.load_cert_chain(self.tmp / f"{user}.crt", self.tmp / f"{user}.key")
            self.sessions[user] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=context, limit=0), headers=headers
            )
        return self.sessions[user]

    async def rest(
        self,
        user: str,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float = 60.0,
    ) -> Answer:
        data = body if isinstance(body, bytes | str) or body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if body is not None else {}
        async with self.session(user).request(
            method, self.url + path, data=data, headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as answer:  # fmt: skip
            text = await answer.text()
            payload = json.loads(text) if text.startswith("{") else text
            return Answer(answer.status, payload, answer.headers)

    def records(self, user: str) -> list[dict[str, Any]]:
        """What the API did for ``user`` (the audit log: every object RPC)."""
        return [e for e in self.audit.events if e["user"] == user]


@pytest_asyncio.fixture
async def boundary(tmp_path: Path) -> AsyncIterator[Boundary]:
    security = ServerSecurity.load(tmp_path / "pki", pki.serving_names("127.0.0.1"))
    audit = MemoryAudit()
    server = APIServer(
        SQLiteStore(tmp_path / "state.db", compact_interval=0),
        security=security,
        audit=audit,
        limits=TEST_LIMITS,
    )
    port = await server.start("127.0.0.1:0")
    address = f"127.0.0.1:{port}"
    pair = security.pki.ensure("admin")
    admin = Client.for_config(
        config.ClientConfig(
            address, ca_data=security.pki.ca_pem, cert_data=pair.cert_pem, key_data=pair.key_pem
        )
    )
    gateway = _secure_gateway(address, security, TEST_LIMITS)
    await gateway.start("127.0.0.1:0")
    b = Boundary(server, security, address, gateway.url, admin, tmp_path, audit)
    b.nobody_token = security.service_accounts.issue("default", "nobody", 600)
    try:
        for user, role in USERS.items():
            await admin.create(binding(f"{user}-{role}", role, user=user, namespace="default"))
            cert, key = b.issue(user)
            b.clients[user] = b.client(cert_data=cert, key_data=key)
        b.clients["nobody"] = b.client(token=b.nobody_token)
        for user in USERS:
            await until_allowed(b.clients[user], "get", "configmaps", "default")
        yield b
    finally:
        for session in b.sessions.values():
            await session.close()
        for c in b.clients.values():
            await c.close()
        await gateway.stop()
        await gateway.client.close()
        await admin.close()
        await server.stop(grace=0)
