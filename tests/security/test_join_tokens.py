"""Join tokens expire, can be listed and deleted by an admin, and get a
certificate for a new node only: never an existing node's identity."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest
from shoal import config, pki
from shoal.api.v1 import certificates_pb2, certificates_pb2_grpc
from shoal.apiserver.tokens import JoinToken, join_user
from shoal.manifest import from_dict

from tests.security.conftest import SecureServer


async def _join(server: SecureServer, token: str, node: str) -> tuple[grpc.StatusCode, str]:
    """Ask for a node certificate with a join token: (code, message)."""
    bearer = JoinToken.parse(token).bearer
    creds = grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(server.security.pki.ca_pem),
        grpc.access_token_call_credentials(bearer),
    )
    _, csr = pki.new_csr(f"system:node:{node}", ("system:nodes",))
    async with grpc.aio.secure_channel(server.address, creds) as channel:
        stub = certificates_pb2_grpc.CertificatesStub(channel)
        try:
            await stub.JoinNode(certificates_pb2.JoinNodeRequest(node_name=node, csr_pem=csr))
        except grpc.aio.AioRpcError as err:
            return err.code(), err.details() or ""
    return grpc.StatusCode.OK, ""


def _issued(server: SecureServer) -> dict[str, float]:
    return dict(server.security.issued_nodes.file.read()["nodes"])


def _node(name: str) -> object:
    return from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})


async def _run(conf: Path, *args: str) -> tuple[int, str]:
    """``shoal --config CONF ARGS...`` (in a thread: verbs run their own loop)."""
    from tests.ctl.conftest import invoke

    result = await asyncio.to_thread(invoke, ["--config", str(conf), *args])
    return result.code, result.out + result.err


async def _shoal(server: SecureServer, tmp_path: Path, *args: str) -> tuple[int, str]:
    conf = tmp_path / "admin.conf"
    if not conf.exists():
        from shoal.apiserver.security import write_admin_config

        write_admin_config(conf, server.address, server.security)
    return await _run(conf, *args)


async def test_server_join_token_expires_by_default(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    token = secure_server.security.ensure_join_token(tmp_path / "join-token")
    token_id = token.bearer.partition(".")[0]
    (record,) = [r for r in secure_server.security.static_tokens.records() if r["id"] == token_id]
    assert 23 * 3600 < record["expires"] - time.time() <= 24 * 3600


async def test_expired_join_token_is_refused_and_says_how_to_get_one(
    secure_server: SecureServer,
) -> None:
    security = secure_server.security
    bearer = security.static_tokens.add(join_user("dead01"), ttl=-60, token_id="dead01")
    code, message = await _join(secure_server, bearer, "node-x")
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in message and "shoal token create" in message
    assert _issued(secure_server) == {}


async def test_join_token_cannot_take_over_an_existing_node(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    token = str(secure_server.security.ensure_join_token(tmp_path / "join-token"))
    assert (await _join(secure_server, token, "node-a"))[0] == grpc.StatusCode.OK
    issued = _issued(secure_server)
    assert list(issued) == ["node-a"]
    # Again for node-a: it holds a valid certificate already.
    code, message = await _join(secure_server, token, "node-a")
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert 'node "node-a" has joined already' in message
    # A node registered without any certificate from a join (an older server's).
    await secure_server.admin.create(_node("node-b"))
    code, message = await _join(secure_server, token, "node-b")
    assert code == grpc.StatusCode.PERMISSION_DENIED and "a Node object" in message
    assert _issued(secure_server) == issued  # nothing signed


async def test_admin_creates_lists_and_deletes_join_tokens(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    code, out = await _shoal(secure_server, tmp_path, "token", "create", "--ttl", "2h",
                       "--description", "rack 4")  # fmt: skip
    assert code == 0, out
    token = out.strip()
    assert JoinToken.parse(token).ca_hash == pki.ca_hash(secure_server.security.pki.ca.cert)
    token_id = JoinToken.parse(token).bearer.partition(".")[0]
    code, out = await _shoal(secure_server, tmp_path, "token", "list")
    assert code == 0, out
    (row,) = [line for line in out.splitlines() if line.startswith(token_id)]
    assert "2h" in row and "rack 4" in row
    assert token.split("::")[1] not in out  # never the secret
    code, out = await _shoal(secure_server, tmp_path, "create", "token", "--join", "--ttl", "0")
    assert code == 0, out
    assert "<forever>" in (await _shoal(secure_server, tmp_path, "token", "list"))[1]

    code, out = await _shoal(secure_server, tmp_path, "token", "delete", token_id)
    assert code == 0, out
    code, message = await _join(secure_server, token, "node-c")
    assert code == grpc.StatusCode.UNAUTHENTICATED, message
    assert _issued(secure_server) == {}
    code, out = await _shoal(secure_server, tmp_path, "token", "delete", token_id)
    assert code != 0 and "not found" in out


@pytest.mark.parametrize("verb", [["token", "list"], ["token", "create"], ["token", "delete", "x"]])
async def test_only_admins_manage_join_tokens(
    secure_server: SecureServer, tmp_path: Path, verb: list[str]
) -> None:
    key = pki.new_key()
    cert = secure_server.security.pki.ca.issue(
        "jane", ("dev",), usage=pki.Usage(client=True), public_key=key.public_key()
    )
    conf = tmp_path / "jane.conf"
    data = config.set_context(
        config.empty_config(),
        "shoal",
        secure_server.address,
        user={"client-certificate-data": _b64(pki.cert_pem(cert)),
              "client-key-data": _b64(pki.key_pem(key))},
        cluster=secure_server.security.cluster_entry(),
    )  # fmt: skip
    config.write(conf, data)
    before = secure_server.security.static_tokens.records()
    code, out = await _run(conf, *verb)
    assert code != 0 and "Forbidden" in out
    assert secure_server.security.static_tokens.records() == before


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()
