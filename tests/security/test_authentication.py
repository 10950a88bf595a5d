"""Who gets in: every request without acceptable credentials is refused
with UNAUTHENTICATED before any handler runs, and changes nothing."""

from __future__ import annotations

import datetime

import grpc
import pytest
from shoal import auth, errors, pki
from shoal.api.v1 import certificates_pb2, certificates_pb2_grpc
from shoal.apiserver.tokens import join_user
from shoal.client import Client

from tests.integration.helpers import pod
from tests.security.conftest import SecureServer


async def _refused(client: Client, name: str = "intruder") -> str:
    """Try to create a pod; return the refusal's message (fail if it was let in)."""
    try:
        with pytest.raises(errors.UnauthorizedError) as caught:
            await client.create(pod(name))
    finally:
        await client.close()
    return caught.value.message


async def _pods(server: SecureServer) -> list[str]:
    return [p.metadata.name for p in (await server.admin.list("Pod", "default")).items]


async def test_admin_certificate_is_let_in_as_itself(secure_server: SecureServer) -> None:
    created = await secure_server.admin.create(pod("web"))
    assert created.metadata.name == "web"
    assert await _pods(secure_server) == ["web"]


async def test_no_credentials_is_unauthenticated(secure_server: SecureServer) -> None:
    message = await _refused(secure_server.client())
    assert "no credentials" in message
    assert await _pods(secure_server) == []


async def test_the_version_answers_anyone(secure_server: SecureServer) -> None:
    """As Kubernetes serves /version to anonymous callers (docs/security.md)."""
    async with secure_server.client() as anonymous:
        assert (await anonymous.version()).version.startswith("v")
        with pytest.raises(errors.UnauthorizedError):
            await anonymous.kinds()


async def test_plain_connection_to_the_tls_port_fails(secure_server: SecureServer) -> None:
    async with Client(secure_server.address) as plain:
        with pytest.raises(errors.APIError):
            await plain.version()


async def test_certificate_from_another_ca_is_refused(secure_server: SecureServer) -> None:
    other = pki.CertificateAuthority.create("not-the-cluster-ca")
    key = pki.new_key()
    cert = other.issue(
        "mallory", (auth.ADMIN_GROUP,), usage=pki.Usage(client=True), public_key=key.public_key()
    )
    client = secure_server.client(cert_data=pki.cert_pem(cert), key_data=pki.key_pem(key))
    assert "not signed by the cluster's CA" in await _refused(client)
    assert await _pods(secure_server) == []


async def test_expired_certificate_is_refused(secure_server: SecureServer) -> None:
    past = pki.now() - datetime.timedelta(days=30)
    client = secure_server.user_client(
        "old-admin", (auth.ADMIN_GROUP,), not_before=past, lifetime=datetime.timedelta(days=1)
    )
    assert "expired" in await _refused(client)
    assert await _pods(secure_server) == []


async def test_unknown_bearer_token_is_refused(secure_server: SecureServer) -> None:
    assert "invalid bearer token" in await _refused(secure_server.client(token="abc.def"))
    forged = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJzaG9hbCJ9.AAAA"
    assert "signature" in await _refused(secure_server.client(token=forged))
    assert await _pods(secure_server) == []


async def test_service_account_token_then_revoked(secure_server: SecureServer) -> None:
    tokens = secure_server.security.service_accounts
    token = tokens.issue("default", "builder", 600)
    user = tokens.authenticate(token)
    assert user.name == "system:serviceaccount:default:builder"
    assert "system:serviceaccounts:default" in user.groups
    async with secure_server.client(token=token) as client:
        await client.version()  # authenticated (what it may do is RBAC's business)
    tokens.revoke(token)
    assert "revoked" in await _refused(secure_server.client(token=token))
    assert await _pods(secure_server) == []


async def test_expired_service_account_token_is_refused(secure_server: SecureServer) -> None:
    tokens = secure_server.security.service_accounts
    token = tokens.issue("default", "builder", -10)
    assert "expired" in await _refused(secure_server.client(token=token))


async def test_join_token_is_only_good_for_joining(secure_server: SecureServer) -> None:
    static = secure_server.security.static_tokens
    token = static.add(join_user("abcdef"), token_id="abcdef")
    assert "only good for joining" in await _refused(secure_server.client(token=token))
    assert await _pods(secure_server) == []


async def test_expired_static_token_is_refused(secure_server: SecureServer) -> None:
    static = secure_server.security.static_tokens
    token = static.add(auth.UserInfo("ci", (auth.ADMIN_GROUP,)), ttl=-1)
    assert "expired" in await _refused(secure_server.client(token=token))


async def test_only_admins_mint_tokens(secure_server: SecureServer) -> None:
    request = certificates_pb2.CreateTokenRequest(namespace="default", name="builder")
    user = secure_server.user_client("dev", ())
    stub = certificates_pb2_grpc.TokensStub(user.channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateToken(request)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await user.close()
    admin_stub = certificates_pb2_grpc.TokensStub(secure_server.admin.channel)
    answer = await admin_stub.CreateToken(request)
    assert secure_server.security.service_accounts.authenticate(answer.token).name.endswith(
        ":default:builder"
    )
    await admin_stub.RevokeToken(certificates_pb2.RevokeTokenRequest(token=answer.id))
    assert "revoked" in await _refused(secure_server.client(token=answer.token))
