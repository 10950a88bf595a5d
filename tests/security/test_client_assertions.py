"""Certificate assertions (the short JWTs a client signs with its
certificate's key, shoal.certauth) live at most five minutes, are refused
outside their window, and are bound to the one connection that first
presented them: a copy replayed elsewhere gets nothing."""

from __future__ import annotations

import json
import ssl
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from shoal import auth, certauth, errors, pki
from shoal.apiserver.connlimits import ConnectionLimits
from shoal.apiserver.security import ServerSecurity
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.client.channel import AuthChannel, auth_metadata
from shoal.config import ClientConfig
from shoal.store.sqlite import SQLiteStore

from tests.integration.helpers import eventually
from tests.security.conftest import SecureServer


def _credential(server: SecureServer) -> tuple[bytes, pki.PrivateKey]:
    key = pki.new_key()
    cert = server.security.pki.ca.issue(
        "jane", (auth.ADMIN_GROUP,), usage=pki.Usage(client=True), public_key=key.public_key()
    )
    return pki.cert_pem(cert), key


def _assertion(server: SecureServer, **claims: Any) -> str:
    cert_pem, key = _credential(server)
    now = int(time.time())
    body = {"aud": certauth.AUDIENCE, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    body.update(claims)
    return certauth.sign_assertion(cert_pem, key, {k: v for k, v in body.items() if v is not None})


def _config_map(name: str) -> Any:
    from shoal.manifest import from_dict

    meta = {"name": name, "namespace": "default"}
    return from_dict({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})


async def _names(server: SecureServer) -> list[str]:
    """The ConfigMaps the test made (kube-root-ca.crt is in every namespace)."""
    items = (await server.admin.list("ConfigMap", "default")).items
    return [c.metadata.name for c in items if c.metadata.name != "kube-root-ca.crt"]


async def _grpc_create(server: SecureServer, token: str, name: str) -> str:
    """Create a ConfigMap with ``token`` on a new connection; the refusal's
    message, or "" when it was let in."""
    async with server.client(token=token) as client:
        try:
            await client.create(_config_map(name))
        except errors.UnauthorizedError as err:
            return err.message
    return ""


async def _rest_create(server: SecureServer, url: str, token: str, name: str) -> tuple[int, Any]:
    context = ssl.create_default_context(cadata=server.security.pki.ca_pem.decode())
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/api/v1/namespaces/default/configmaps", json=body, ssl=context, headers=headers
        ) as answer,
    ):
        text = await answer.text()
        return answer.status, json.loads(text) if text.startswith("{") else {"reason": text}


@pytest.mark.parametrize(
    ("offsets", "words"),
    [
        ({"exp": 30 * 86400}, "longer than 5 minutes"),
        ({"iat": -900, "exp": -600}, "expired"),
        ({"iat": 600, "exp": 800}, "in the future"),
        ({"nbf": 600}, "not valid yet"),
        ({"jti": None}, "jti"),
        ({"exp": None}, "exp"),
    ],
    ids=["thirty-days", "expired", "future-dated", "not-before", "no-jti", "no-exp"],
)
async def test_assertion_outside_its_window_is_refused(
    secure_server: SecureServer, gateway_url: str, offsets: dict[str, Any], words: str
) -> None:
    # Times relative to now, taken when the test runs (not when the module was
    # collected: a long suite would otherwise turn "in the future" into "expired").
    now = int(time.time())
    claims = {k: None if v is None else now + v for k, v in offsets.items()}
    token = _assertion(secure_server, **claims)
    assert words in await _grpc_create(secure_server, token, "by-grpc")
    code, status = await _rest_create(secure_server, gateway_url, token, "by-rest")
    assert (code, status["reason"]) == (401, "Unauthorized")
    assert words in status["message"]
    assert await _names(secure_server) == []


async def test_clock_skew_of_thirty_seconds_is_tolerated(secure_server: SecureServer) -> None:
    now = int(time.time())
    token = _assertion(secure_server, iat=now + 20, exp=now + 80)
    assert await _grpc_create(secure_server, token, "skewed") == ""
    assert await _names(secure_server) == ["skewed"]


async def test_assertion_replayed_on_another_connection_is_refused(
    secure_server: SecureServer, gateway_url: str
) -> None:
    token = _assertion(secure_server)
    async with secure_server.client(token=token) as first:
        await first.create(_config_map("first"))
        await first.create(_config_map("again"))  # the same connection may reuse it
    assert "already used on another connection" in await _grpc_create(
        secure_server, token, "replayed"
    )
    code, status = await _rest_create(secure_server, gateway_url, token, "replayed-rest")
    assert (code, status["reason"]) == (401, "Unauthorized")
    assert "already used on another connection" in status["message"]
    assert sorted(await _names(secure_server)) == ["again", "first"]


async def test_the_client_signs_a_new_assertion_when_it_reconnects(
    secure_server: SecureServer,
) -> None:
    cert_pem, key = _credential(secure_server)
    cfg = ClientConfig(secure_server.address, cert_data=cert_pem, key_data=pki.key_pem(key))
    states = iter([grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.READY,
                   grpc.ChannelConnectivity.IDLE])  # fmt: skip

    class Channel:
        def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
            return next(states)

        def unary_unary(self, *args: Any, **kwargs: Any) -> Any:
            return lambda request, metadata=None, **kw: dict(metadata)["authorization"]

    channel = AuthChannel(Channel(), auth_metadata(cfg))  # type: ignore[arg-type]
    call = channel.unary_unary("/shoal.v1.Objects/Get")
    first, same, after_reconnect = call(b""), call(b""), call(b"")
    assert first == same  # one connection, one assertion: no signature per call
    assert after_reconnect != first


async def test_client_keeps_working_across_reconnects(tmp_path: Path) -> None:
    """The server drops idle connections (GOAWAY); the client's next call
    goes on a new connection with a new assertion, not the bound one."""
    security = ServerSecurity.load(tmp_path / "pki", pki.serving_names("127.0.0.1"))
    idle = ConnectionLimits(grpc_idle_timeout=0.3)
    store = SQLiteStore(tmp_path / "state.db", compact_interval=0)
    server = APIServer(store, security=security, connections=idle)
    port = await server.start("127.0.0.1:0")
    pair = security.pki.ensure("admin")
    cfg = ClientConfig(f"127.0.0.1:{port}", ca_data=security.pki.ca_pem,
                       cert_data=pair.cert_pem, key_data=pair.key_pem)  # fmt: skip
    try:
        async with Client.for_config(cfg) as client:
            for i in range(3):
                await client.create(_config_map(f"cm-{i}"))
                raw = client.channel._channel
                await eventually(
                    lambda raw=raw: raw.get_state() != grpc.ChannelConnectivity.READY, timeout=10
                )
            made = (await client.list("ConfigMap", "default")).items
            assert len([c for c in made if c.metadata.name.startswith("cm-")]) == 3
    finally:
        await server.stop(grace=0)
