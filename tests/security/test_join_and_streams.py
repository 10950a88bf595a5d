"""Joining a node (a bad token changes nothing) and the agent's stream
port, which only the API server may use."""

from __future__ import annotations

import grpc
import pytest
from shoal import auth, config, pki
from shoal.agent.join import JoinError, join, load_identity, node_identity
from shoal.agent.streams import StreamBackend, StreamTLS, serve_streams
from shoal.api.v1 import streams_pb2, streams_pb2_grpc
from shoal.apiserver.pkifiles import KeyPair

from tests.security.conftest import SecureServer


def _join_token(server: SecureServer, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return str(server.security.ensure_join_token(tmp_path / "join-token"))


async def test_join_gets_a_node_identity_and_keeps_it(
    secure_server: SecureServer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    token = _join_token(secure_server, tmp_path)
    data = tmp_path / "agent"
    identity = await node_identity(data, secure_server.address, "node-a", token)
    assert identity is not None
    cert = pki.load_cert(identity.cert_pem)
    assert pki.identity(cert) == ("system:node:node-a", (auth.NODES_GROUP,))
    assert "node-a" in pki.san_strings(cert)
    assert identity.ca_pem == secure_server.security.pki.ca_pem  # found by the token's hash
    for name in ("ca.crt", "node.crt", "node.key"):
        assert (data / "pki" / name).stat().st_mode & 0o777 == 0o600
    again = await node_identity(data, secure_server.address, "node-a", "")  # no token needed
    assert again == identity
    async with secure_server.client(
        cert_data=identity.cert_pem, key_data=identity.key_pem
    ) as node_client:
        await node_client.version()


async def test_join_with_a_bad_token_is_refused(secure_server: SecureServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = _join_token(secure_server, tmp_path)
    pin = good.split("::")[0]
    with pytest.raises(JoinError, match="invalid bearer token"):
        await join(secure_server.address, "node-b", f"{pin}::abcdef.0123456789abcdef")
    other_pin = "SH10" + "0" * 64
    with pytest.raises(JoinError, match="did not present the CA"):
        await join(secure_server.address, "node-b", f"{other_pin}::{good.split('::')[1]}")
    assert load_identity(tmp_path / "agent", "node-b") is None
    nodes = await secure_server.admin.list("Node")
    assert nodes.items == []


async def test_a_node_cannot_get_another_nodes_certificate(
    secure_server: SecureServer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    token = _join_token(secure_server, tmp_path)
    identity = await join(secure_server.address, "node-a", token)
    from shoal.agent.join import request_certificate
    from shoal.certauth import call_credentials

    with pytest.raises(JoinError, match="may not get a certificate"):
        await request_certificate(
            secure_server.address,
            "node-b",
            identity.ca_pem,
            call_credentials(identity.cert_pem, identity.key_pem),
        )


class _NoNodes:
    def __call__(self, name: str) -> None:
        return None


async def _stream_server(secure_server: SecureServer) -> tuple[grpc.aio.Server, int]:
    ca = secure_server.security.pki.ca
    key = pki.new_key()
    cert = ca.issue(
        "system:node:node-a",
        (auth.NODES_GROUP,),
        usage=pki.Usage(server=True, client=True),
        sans=["node-a"],
        public_key=key.public_key(),
    )
    tls = StreamTLS(pki.cert_pem(ca.cert), pki.cert_pem(cert), pki.key_pem(key))
    return await serve_streams(StreamBackend(_NoNodes()), "127.0.0.1:0", tls)


async def _list_images(port: int, ca: bytes, pair: KeyPair | None) -> grpc.StatusCode:
    creds = grpc.ssl_channel_credentials(
        ca, pair.key_pem if pair else None, pair.cert_pem if pair else None
    )
    options = [("grpc.ssl_target_name_override", "node-a")]
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", creds, options=options) as channel:
        stub = streams_pb2_grpc.StreamsStub(channel)
        try:
            await stub.ListImages(streams_pb2.ListImagesRequest(node="node-a"), timeout=5)
        except grpc.aio.AioRpcError as err:
            return err.code()
    return grpc.StatusCode.OK


async def test_agent_stream_port_takes_only_the_api_server(secure_server: SecureServer) -> None:
    server, port = await _stream_server(secure_server)
    server_pki = secure_server.security.pki
    try:
        # The API server's client certificate: let in (the node is not served here).
        relay = server_pki.ensure("apiserver-agent-client")
        assert await _list_images(port, server_pki.ca_pem, relay) == grpc.StatusCode.NOT_FOUND
        # The cluster admin's certificate, from the same CA: refused all the same.
        admin = server_pki.ensure("admin")
        assert await _list_images(port, server_pki.ca_pem, admin) == (
            grpc.StatusCode.PERMISSION_DENIED
        )
        # No certificate: the handshake itself fails.
        assert await _list_images(port, server_pki.ca_pem, None) == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)


def test_plain_config_refuses_credentials_without_tls() -> None:
    from shoal.client import channel_credentials

    with pytest.raises(config.ConfigError, match="credentials need TLS"):
        channel_credentials(config.ClientConfig("127.0.0.1:1", token="a.b"))


async def test_api_server_relays_to_a_joined_agent_over_mutual_tls(
    secure_server: SecureServer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from shoal.agent.agent import Agent, AgentOptions
    from shoal.agent.kubelet import Timing

    from tests.integration.helpers import eventually

    token = _join_token(secure_server, tmp_path)
    identity = await node_identity(tmp_path / "agent", secure_server.address, "node-a", token)
    assert identity is not None
    options = AgentOptions(
        server=secure_server.address,
        name="node-a",
        runtime="fake",
        data_dir=tmp_path / "agent",
        node_ip="127.0.0.1",
        stream_listen="127.0.0.1:0",
        credentials=identity.client_config(secure_server.address),
        timing=Timing(lease_interval=1.0),
    )
    agent = Agent(options)
    await agent.start()
    try:
        node = await eventually(lambda: agent.nodes.get("node-a"), timeout=10)
        assert node is not None
        stub = streams_pb2_grpc.StreamsStub(secure_server.admin.channel)
        answer = await stub.ListImages(streams_pb2.ListImagesRequest(node="node-a"), timeout=10)
        assert answer is not None  # reached the agent through the relay, both sides verified
    finally:
        await agent.stop()
