"""admin.conf carries a bearer token: the standard way in for a gRPC client
in any language (the gRPC port never asks for a client certificate, so
handing a TLS library the admin's certificate sends none). The token is
revocable; a request without acceptable credentials is told how to
authenticate (issue 14)."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import grpc
import pytest
from shoal import config, errors
from shoal.api.v1 import api_pb2, api_pb2_grpc, certificates_pb2, certificates_pb2_grpc
from shoal.apiserver.security import write_admin_config
from shoal.client import Client

from tests.integration.helpers import pod
from tests.security.conftest import SecureServer


def _admin_conf(server: SecureServer, tmp_path: Path) -> Path:
    return write_admin_config(tmp_path / "admin.conf", server.address, server.security)


async def _create_with_token(server: SecureServer, token: str, name: str) -> str:
    """What a client of another language does: TLS with the CA, the token
    as metadata; the created pod's name, or the refusal's message."""
    tls = grpc.ssl_channel_credentials(server.security.pki.ca_pem)
    async with grpc.aio.secure_channel(server.address, tls) as channel:
        stub = api_pb2_grpc.ObjectsStub(channel)
        request = api_pb2.CreateRequest()
        request.object.Pack(pod(name))
        try:
            await stub.Create(request, metadata=(("authorization", f"Bearer {token}"),))
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED, err
            return err.details() or ""
    return name


async def _revoke(server: SecureServer, token_or_id: str) -> str:
    stub = certificates_pb2_grpc.TokensStub(server.admin.channel)
    answer = await stub.RevokeToken(certificates_pb2.RevokeTokenRequest(token=token_or_id))
    return str(answer.id)


async def test_admin_conf_has_a_token_that_works_as_bearer_metadata(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    conf = _admin_conf(secure_server, tmp_path)
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600
    cfg = config.load(conf)
    assert cfg.token and cfg.cert_data and cfg.key_data
    assert await _create_with_token(secure_server, cfg.token, "by-token") == "by-token"
    # The same identity as the admin certificate.
    (record,) = [
        r
        for r in secure_server.security.static_tokens.records()
        if r["id"] == cfg.token.partition(".")[0]
    ]
    assert (record["user"], record["groups"]) == ("shoal-admin", ["system:masters"])


async def test_the_token_is_kept_while_good_and_replaced_once_revoked(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    first = config.load(_admin_conf(secure_server, tmp_path)).token
    assert config.load(_admin_conf(secure_server, tmp_path)).token == first  # a restart
    assert await _revoke(secure_server, first) == first.partition(".")[0]
    second = config.load(_admin_conf(secure_server, tmp_path)).token
    assert second != first
    assert await _create_with_token(secure_server, second, "again") == "again"
    # One record per admin.conf: the server keeps no pile of old ones.
    tokens = secure_server.security.static_tokens.records()
    assert [r["id"] for r in tokens if r["user"] == "shoal-admin"] == [second.partition(".")[0]]


async def test_revoke_token_refuses_the_admin_token_at_once(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    token = config.load(_admin_conf(secure_server, tmp_path)).token
    assert await _create_with_token(secure_server, token, "before") == "before"  # now cached
    await _revoke(secure_server, token)
    refusal = await _create_with_token(secure_server, token, "after")
    assert "revoked" in refusal or "invalid bearer token" in refusal
    names = [p.metadata.name for p in (await secure_server.admin.list("Pod")).items]
    assert names == ["before"]


async def test_revoke_by_id_and_a_wrong_secret_is_refused(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    token = config.load(_admin_conf(secure_server, tmp_path)).token
    token_id = token.partition(".")[0]
    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await _revoke(secure_server, f"{token_id}.{'0' * 32}")
    assert wrong.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await _create_with_token(secure_server, token, "still") == "still"
    assert await _revoke(secure_server, token_id) == token_id
    assert "invalid bearer token" in await _create_with_token(secure_server, token, "gone")


async def test_shoal_client_prefers_the_certificate_when_both_are_there(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    """Revoking admin.conf's token never locks shoal's own client out."""
    conf = _admin_conf(secure_server, tmp_path)
    await _revoke(secure_server, config.load(conf).token)
    async with Client.from_config(str(conf)) as client:
        assert (await client.create(pod("by-cert"))).metadata.name == "by-cert"


async def test_a_certificate_in_the_handshake_is_told_how_to_authenticate(
    secure_server: SecureServer,
) -> None:
    """What every gRPC user tries first: TLS with the admin's key and
    certificate. The server does not ask for it, so it is not sent; the
    refusal says what works."""
    pair = secure_server.security.pki.ensure("admin")
    tls = grpc.ssl_channel_credentials(
        secure_server.security.pki.ca_pem, pair.key_pem, pair.cert_pem
    )
    async with grpc.aio.secure_channel(secure_server.address, tls) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await api_pb2_grpc.ObjectsStub(channel).List(api_pb2.ListRequest(kind="pods"))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    message = refused.value.details() or ""
    assert "authorization: Bearer" in message and "admin.conf" in message
    assert "service-account token" in message and "x5c" in message
    assert "present a client certificate" not in message and "\n" not in message


async def test_certs_rotate_admin_replaces_the_token(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    from tests.ctl.conftest import invoke

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    security = secure_server.security
    conf = write_admin_config(data_dir / "admin.conf", secure_server.address, security)
    old = config.load(conf).token
    pki_dir = str(security.pki.dir)
    result = await asyncio.to_thread(
        invoke, ["certs", "rotate", "admin", "--data-dir", str(data_dir), "--pki-dir", pki_dir]
    )
    assert result.code == 0, result.err
    new = config.load(conf).token
    assert new and new != old
    assert await _create_with_token(secure_server, new, "rotated") == "rotated"
    assert "invalid bearer token" in await _create_with_token(secure_server, old, "old")


async def test_an_unauthenticated_client_error_is_unauthorized(
    secure_server: SecureServer,
) -> None:
    async with secure_server.client() as anonymous:
        with pytest.raises(errors.UnauthorizedError) as refused:
            await anonymous.create(pod("nobody"))
    assert "admin.conf" in refused.value.message


async def test_the_gateway_takes_the_admin_token_as_authorization_header(
    secure_server: SecureServer, gateway_url: str, tmp_path: Path
) -> None:
    import ssl

    import aiohttp

    token = config.load(_admin_conf(secure_server, tmp_path)).token
    await secure_server.admin.create(pod("web"))
    tls = ssl.create_default_context(cadata=secure_server.security.pki.ca_pem.decode())
    url = f"{gateway_url}/api/v1/namespaces/default/pods"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, ssl=tls, headers={"Authorization": f"Bearer {token}"}) as ok:
            assert ok.status == 200, await ok.text()
            assert [p["metadata"]["name"] for p in (await ok.json())["items"]] == ["web"]
        await _revoke(secure_server, token)
        async with http.get(url, ssl=tls, headers={"Authorization": f"Bearer {token}"}) as gone:
            assert gone.status == 401


def test_kubectl_gets_the_certificate_of_admin_conf(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    """As shoal's client: the certificate keeps kubectl working when the token is revoked."""
    from shoal.plugins.gateway.kubeconfig import kubeconfig

    data = config.read(_admin_conf(secure_server, tmp_path))
    user = kubeconfig(data, server="https://127.0.0.1:8443")["users"][0]["user"]
    assert set(user) == {"client-certificate-data", "client-key-data"}


def test_an_agent_given_admin_conf_does_not_take_its_token_for_a_join_token(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    from types import SimpleNamespace

    from shoal.ctl.agent import _credentials

    conf = _admin_conf(secure_server, tmp_path)
    options = {"token": "", "token_file": "", "config_file": str(conf), "server_address": ""}
    cfg, join_token = _credentials(SimpleNamespace(config_path=None, server=None), options)
    assert join_token == ""
    assert cfg.cert_data and cfg.token == config.load(conf).token
