"""Object history through the secure API server (gRPC): who made each write
of a Deployment, kept across a server restart; a Secret's values redacted;
reading history needs ``get`` on the object."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from shoal import auth, config, pki
from shoal.apiserver.security import ServerSecurity
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.client.client import unpack
from shoal.manifest import from_dict
from shoal.store.sqlite import SQLiteStore

from tests.security.authz_helpers import refused
from tests.security.conftest import SecureServer

ADMINS = (auth.ADMIN_GROUP,)


async def _start(tmp_path: Path) -> SecureServer:
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
    return SecureServer(server, security, address, admin)


async def _stop(server: SecureServer) -> None:
    await server.admin.close()
    await server.server.stop(grace=0)


@pytest_asyncio.fixture
async def restartable(tmp_path: Path) -> AsyncIterator[list[SecureServer]]:
    """A secure server over a SQLite file; the test may replace servers[0]."""
    servers = [await _start(tmp_path)]
    try:
        yield servers
    finally:
        await _stop(servers[0])


def _deployment(image: str, replicas: int) -> object:
    return from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": image}]},
                },
            },
        }
    )


async def _edit_as(server: SecureServer, user: str, image: str, replicas: int) -> None:
    client = server.user_client(user, ADMINS)
    try:
        current = await client.get("Deployment", "web", "default")
        new = _deployment(image, replicas)
        new.metadata.resource_version = current.metadata.resource_version  # type: ignore[attr-defined]
        await client.update(new)
    finally:
        await client.close()


def _summary(entries: list) -> list[tuple[str, str, str, str, int]]:  # type: ignore[type-arg]
    out = []
    for entry in entries:
        obj = unpack(entry.object)
        image = obj.spec.template.spec.containers[0].image
        out.append((entry.type, entry.verb, entry.user, image, obj.spec.replicas))
    return out


EXPECTED = [
    ("CREATE", "create", "alice", "shoal.local/hello:v1", 1),
    ("UPDATE", "update", "bob", "shoal.local/hello:v1", 3),
    ("UPDATE", "update", "alice", "shoal.local/hello:v2", 3),
    ("UPDATE", "update", "bob", "shoal.local/hello:v2", 2),
]


async def test_a_deployment_edited_by_two_users(
    restartable: list[SecureServer], tmp_path: Path
) -> None:
    server = restartable[0]
    alice = server.user_client("alice", ADMINS)
    await alice.create(_deployment("shoal.local/hello:v1", 1))
    await alice.close()
    await _edit_as(server, "bob", "shoal.local/hello:v1", 3)
    await _edit_as(server, "alice", "shoal.local/hello:v2", 3)
    await _edit_as(server, "bob", "shoal.local/hello:v2", 2)

    entries = await server.admin.history("Deployment", "web", "default")
    assert _summary(entries) == EXPECTED
    versions = [int(e.resource_version) for e in entries]
    assert versions == sorted(versions) and len(set(versions)) == 4
    assert all(e.time.endswith("Z") for e in entries)
    current = await server.admin.get("Deployment", "web", "default")
    assert entries[-1].resource_version == current.metadata.resource_version

    await _stop(server)  # a restart keeps every revision and its author
    restartable[0] = server = await _start(tmp_path)
    assert _summary(await server.admin.history("Deployment", "web", "default")) == EXPECTED


async def test_a_secret_history_shows_who_changed_it_never_the_values(
    restartable: list[SecureServer],
) -> None:
    server = restartable[0]
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
    }
    alice = server.user_client("alice", ADMINS)
    try:
        await alice.create(from_dict({**secret, "data": {"password": "aHVudGVyMg=="}}))
        await alice.update(from_dict({**secret, "data": {"password": "c3dvcmRmaXNo"}}))
    finally:
        await alice.close()
    entries = await server.admin.history("Secret", "db", "default")
    assert [(e.type, e.user) for e in entries] == [("CREATE", "alice"), ("UPDATE", "alice")]
    stand_ins = [unpack(e.object).data["password"] for e in entries]
    for value in stand_ins:
        assert value.startswith(b"<redacted ")
        assert b"hunter2" not in value and b"swordfish" not in value
    assert stand_ins[0] != stand_ins[1]  # it shows that the value changed
    for entry in entries:
        assert b"hunter2" not in entry.SerializeToString()
        assert b"swordfish" not in entry.SerializeToString()


async def test_history_needs_get_on_the_object(restartable: list[SecureServer]) -> None:
    server = restartable[0]
    await server.admin.create(_deployment("shoal.local/hello:v1", 1))
    carol = server.user_client("carol")  # no bindings: may not get it
    try:
        await refused(carol.history("Deployment", "web", "default"))
    finally:
        await carol.close()


async def test_history_of_a_missing_object_is_not_found(restartable: list[SecureServer]) -> None:
    from shoal import errors

    with pytest.raises(errors.NotFoundError):
        await restartable[0].admin.history("Deployment", "nothing", "default")
