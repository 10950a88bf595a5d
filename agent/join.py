"""How an agent gets a node identity of its own (like kubeadm join).

``shoal agent --token SH10<ca-hash>::<id>.<secret>``:

1. discovery: the agent opens a TLS connection to the server without
   verifying it, takes the CA certificate from the handshake (the server
   sends its chain) and accepts it only if its SHA-256 is the one in the
   token (or uses ``certificate-authority-data`` from ``--config``);
2. it makes a key, and calls ``Certificates.JoinNode`` with a CSR over TLS
   verified by that CA, presenting the join token as a bearer token;
3. it stores ``ca.crt``, ``node.crt`` and ``node.key`` (mode 0600) under
   ``DATA/pki`` and from then on talks as ``system:node:<name>`` (group
   ``system:nodes``); the token is not needed again. A certificate past two
   thirds of its life is renewed at start, with the certificate itself.

An agent started with other credentials (``--config admin.conf``) asks the
same service for its node certificate with them: the signer lets
``system:masters`` ask for any node, as a cluster admin approves a kubelet's
CSR in Kubernetes. Anyone else is refused, and the agent says to use the
join token.
"""

from __future__ import annotations

import hashlib
import pathlib
import socket
import ssl
from dataclasses import dataclass

import grpc
from shoal import auth, config, pki
from shoal.api.v1 import certificates_pb2, certificates_pb2_grpc
from shoal.apiserver.tokens import JoinToken


class JoinError(Exception):
    pass


@dataclass(frozen=True)
class NodeIdentity:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def client_config(self, server: str) -> config.ClientConfig:
        return config.ClientConfig(
            server, ca_data=self.ca_pem, cert_data=self.cert_pem, key_data=self.key_pem
        )


def _paths(data_dir: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    d = data_dir / "pki"
    return d / "ca.crt", d / "node.crt", d / "node.key"


def load_identity(data_dir: pathlib.Path, node: str) -> NodeIdentity | None:
    """The stored identity, if it is for ``node``, from its CA and not expired."""
    try:
        ca, crt, key = (p.read_bytes() for p in _paths(data_dir))
        cert, ca_cert = pki.load_cert(crt), pki.load_cert(ca)
    except (FileNotFoundError, pki.PKIError):
        return None
    if pki.identity(cert)[0] != auth.NODE_USER_PREFIX + node or not pki.issued_by(cert, ca_cert):
        return None
    return NodeIdentity(ca, crt, key)


def store_identity(data_dir: pathlib.Path, identity: NodeIdentity) -> None:
    for path, data in zip(
        _paths(data_dir), (identity.ca_pem, identity.cert_pem, identity.key_pem), strict=True
    ):
        pki.write_private(path, data)


def discover_ca(server: str, ca_hash: str, timeout: float = 10.0) -> bytes:
    """The CA certificate the server sends in its handshake whose hash is
    ``ca_hash``; anything else (a server in the middle) is refused."""
    host, _, port = server.rpartition(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # trust comes from the pinned hash below
    context.set_alpn_protocols(["h2"])
    try:
        with (
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host.strip("[]")) as tls,
        ):
            ders = _unverified_chain(tls)
    except (OSError, ValueError) as err:
        raise JoinError(f"cannot reach the API server at {server}: {err}") from None
    want = ca_hash.removeprefix("sha256:")
    for der in ders:
        if hashlib.sha256(der).hexdigest() == want:
            return ssl.DER_cert_to_PEM_cert(der).encode()
    raise JoinError(
        f"the server at {server} did not present the CA the join token pins ({ca_hash}); "
        "is the token for this cluster?"
    )


def _unverified_chain(tls: ssl.SSLSocket) -> list[bytes]:
    """The certificates the server sent (DER). Python 3.13 makes this public
    (``get_unverified_chain``); 3.11 has it on the underlying object."""
    getter = getattr(tls, "get_unverified_chain", None) or getattr(
        getattr(tls, "_sslobj", None), "get_unverified_chain", None
    )
    if getter is None:
        raise JoinError("this Python cannot read the server's certificate chain: "
                        "join with a --config holding certificate-authority-data")  # fmt: skip
    return [
        c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]
        for c in getter() or []
    ]


async def request_certificate(
    server: str, node: str, ca_pem: bytes, credentials: grpc.CallCredentials
) -> NodeIdentity:
    key, csr = pki.new_csr(auth.NODE_USER_PREFIX + node, (auth.NODES_GROUP,))
    creds = grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(root_certificates=ca_pem), credentials
    )
    async with grpc.aio.secure_channel(server, creds) as channel:
        stub = certificates_pb2_grpc.CertificatesStub(channel)
        try:
            answer = await stub.JoinNode(
                certificates_pb2.JoinNodeRequest(node_name=node, csr_pem=csr), timeout=30
            )
        except grpc.aio.AioRpcError as err:
            raise JoinError(f"joining as node {node!r} failed: {err.details()}") from None
    return NodeIdentity(answer.ca_pem, answer.certificate_pem, pki.key_pem(key))


async def join(server: str, node: str, token: str, ca_pem: bytes = b"") -> NodeIdentity:
    """Join with a token: discover (or take) the CA, get a node certificate."""
    parsed = JoinToken.parse(token)
    if not ca_pem:
        if not parsed.ca_hash:
            raise JoinError(
                "the join token carries no CA hash: use the whole token from the server's "
                "join-token file, or a --config with certificate-authority-data"
            )
        ca_pem = discover_ca(server, parsed.ca_hash)
    call = grpc.access_token_call_credentials(parsed.bearer)
    return await request_certificate(server, node, ca_pem, call)


async def renew(server: str, node: str, identity: NodeIdentity) -> NodeIdentity:
    """A new certificate for the node, asked for with the current one."""
    from shoal.certauth import call_credentials

    call = call_credentials(identity.cert_pem, identity.key_pem)
    return await request_certificate(server, node, identity.ca_pem, call)


JOIN_HINT = "start the agent with the server's join token (--token-file SERVER_DATA/join-token)"


async def issue_with(server: str, node: str, given: config.ClientConfig) -> NodeIdentity:
    """A node certificate asked for with the credentials the agent was
    started with (an admin's), over TLS verified by their CA."""
    from shoal.certauth import call_credentials

    if given.cert_data and given.key_data:  # the certificate first, as the client
        call = call_credentials(given.cert_data, given.key_data)
    elif given.token:
        call = grpc.access_token_call_credentials(given.token)
    else:
        raise JoinError(f"the config holds no credentials to get a node certificate; {JOIN_HINT}")
    try:
        return await request_certificate(server, node, given.ca_data, call)
    except JoinError as err:
        raise JoinError(f"{err}; {JOIN_HINT}") from None


def is_node_identity(given: config.ClientConfig, node: str) -> bool:
    """Whether ``given`` already holds ``node``'s own certificate."""
    if not given.cert_data:
        return False
    try:
        return pki.identity(pki.load_cert(given.cert_data))[0] == auth.NODE_USER_PREFIX + node
    except pki.PKIError:
        return False


async def node_identity(
    data_dir: pathlib.Path, server: str, node: str, token: str, ca_pem: bytes = b""
) -> NodeIdentity | None:
    """The identity to run as: stored (renewed when due), else joined with
    ``token``; None when there is neither."""
    identity = load_identity(data_dir, node)
    if identity is not None:
        if pki.needs_renewal(pki.load_cert(identity.cert_pem)):
            identity = await renew(server, node, identity)
            store_identity(data_dir, identity)
        return identity
    if not token:
        return None
    identity = await join(server, node, token, ca_pem)
    store_identity(data_dir, identity)
    return identity
