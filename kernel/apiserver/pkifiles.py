"""The server's PKI directory (``DATA/pki``): the CA and the certificates
``shoal server`` issues for itself and its admin, each kept current.

| file | subject | used by |
|---|---|---|
| ``ca.crt`` / ``ca.key`` | ``CN=shoal-ca`` | signs everything below |
| ``apiserver.crt`` | ``CN=shoal-apiserver`` + SANs | the TLS listener (gRPC and HTTPS) |
| ``admin.crt`` | ``CN=shoal-admin, O=system:masters`` | ``admin.conf`` |
| ``controlplane.crt`` | ``CN=system:shoal-controlplane, O=system:masters`` | controllers |
| ``apiserver-agent-client.crt`` | ``CN=shoal-apiserver`` | the relay to agents' stream servers |
| ``gateway.crt`` | ``CN=shoal-gateway`` | the HTTP gateway (may impersonate) |
"""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from shoal import auth, pki

APISERVER_USER = "shoal-apiserver"
GATEWAY_USER = "shoal-gateway"
ADMIN_USER = "shoal-admin"
CONTROLPLANE_USER = "system:shoal-controlplane"


@dataclass(frozen=True)
class LeafSpec:
    common_name: str
    orgs: tuple[str, ...]
    usage: pki.Usage


LEAVES: dict[str, LeafSpec] = {
    "apiserver": LeafSpec(APISERVER_USER, (), pki.Usage(server=True)),
    "admin": LeafSpec(ADMIN_USER, (auth.ADMIN_GROUP,), pki.Usage(client=True)),
    "controlplane": LeafSpec(CONTROLPLANE_USER, (auth.ADMIN_GROUP,), pki.Usage(client=True)),
    "apiserver-agent-client": LeafSpec(APISERVER_USER, (), pki.Usage(client=True)),
    "gateway": LeafSpec(GATEWAY_USER, (), pki.Usage(client=True)),
}


@dataclass
class KeyPair:
    cert: x509.Certificate
    key: pki.PrivateKey

    @property
    def cert_pem(self) -> bytes:
        return pki.cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return pki.key_pem(self.key)


class ServerPKI:
    """Loads or creates the CA, and issues/renews the leaf certificates."""

    def __init__(self, directory: pathlib.Path, sans: Iterable[str] = ()) -> None:
        self.dir = directory
        self.sans = list(sans)
        self.ca = self._load_or_create_ca()

    def _load_or_create_ca(self) -> pki.CertificateAuthority:
        crt, key = self.dir / "ca.crt", self.dir / "ca.key"
        if crt.exists() and key.exists():
            return pki.CertificateAuthority(
                pki.load_cert(crt.read_bytes()), pki.load_key(key.read_bytes())
            )
        ca = pki.CertificateAuthority.create()
        pki.write_private(key, pki.key_pem(ca.key))
        pki.write_private(crt, pki.cert_pem(ca.cert))
        return ca

    @property
    def ca_pem(self) -> bytes:
        return pki.cert_pem(self.ca.cert)

    def paths(self, leaf: str) -> tuple[pathlib.Path, pathlib.Path]:
        return self.dir / f"{leaf}.crt", self.dir / f"{leaf}.key"

    def load(self, leaf: str) -> KeyPair | None:
        crt, key = self.paths(leaf)
        try:
            return KeyPair(pki.load_cert(crt.read_bytes()), pki.load_key(key.read_bytes()))
        except (FileNotFoundError, pki.PKIError, ValueError):
            return None

    def ensure(self, leaf: str, at: datetime.datetime | None = None) -> KeyPair:
        """The leaf's pair, issued anew when missing, not from this CA, short
        of a SAN it must carry, or past two thirds of its lifetime."""
        pair = self.load(leaf)
        if pair is None or self._stale(leaf, pair, at):
            pair = self.rotate(leaf)
        return pair

    def _stale(self, leaf: str, pair: KeyPair, at: datetime.datetime | None) -> bool:
        if not self.ca.issued(pair.cert, at) or pki.needs_renewal(pair.cert, at):
            return True
        return leaf == "apiserver" and not set(self.sans) <= pki.san_strings(pair.cert)

    def rotate(self, leaf: str, lifetime: datetime.timedelta | None = None) -> KeyPair:
        """A new key and certificate for ``leaf`` from the same CA."""
        spec = LEAVES[leaf]
        key = pki.new_key()
        cert = self.ca.issue(
            spec.common_name,
            spec.orgs,
            usage=spec.usage,
            sans=self.sans if spec.usage.server else (),
            public_key=key.public_key(),
            lifetime=lifetime or datetime.timedelta(days=pki.LEAF_DAYS),
        )
        crt_path, key_path = self.paths(leaf)
        pki.write_private(key_path, pki.key_pem(key))
        pki.write_private(crt_path, pki.cert_pem(cert))
        return KeyPair(cert, key)

    def ensure_all(self) -> dict[str, KeyPair]:
        return {leaf: self.ensure(leaf) for leaf in LEAVES}

    def serving_chain(self) -> tuple[bytes, bytes]:
        """(key PEM, certificate chain PEM): the leaf, then the CA, so a joining
        agent can find the CA in the handshake and check it against its token."""
        pair = self.ensure("apiserver")
        return pair.key_pem, pair.cert_pem + self.ca_pem
