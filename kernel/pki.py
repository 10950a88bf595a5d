"""The cluster's own certificate authority and the certificates it issues.

``shoal server`` makes a CA on first start (``DATA/pki/ca.crt`` + ``ca.key``)
and from it a serving certificate, the admin's client certificate, the
control plane's and the API server's client certificate for agents. Leaf
certificates live a year and are renewed once less than a third of their
lifetime is left (at start and periodically), so a cluster left running
never meets an expired certificate. Keys are ECDSA P-256: small, and quick
to handshake. Every key file is written with mode 0600.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import pathlib
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 365
# Start validity a little in the past: clocks of two machines disagree.
BACKDATE = datetime.timedelta(minutes=5)
RENEW_FRACTION = 1 / 3

PrivateKey = ec.EllipticCurvePrivateKey


class PKIError(Exception):
    pass


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_cert(data: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as err:
        raise PKIError(f"not a PEM certificate: {err}") from None


def load_key(data: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PKIError("only ECDSA keys are supported")
    return key


def ca_hash(cert: x509.Certificate) -> str:
    """``sha256:<hex>`` of the CA certificate (DER), as join tokens pin it."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def write_private(path: pathlib.Path, data: bytes) -> None:
    """Atomically, mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def identity(cert: x509.Certificate) -> tuple[str, tuple[str, ...]]:
    """(CN, O...) of a certificate's subject: user name and groups."""
    subject = cert.subject
    cn = [a.value for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return (str(cn[0]) if cn else ""), tuple(str(o) for o in orgs)


def lifetime_left(cert: x509.Certificate, at: datetime.datetime | None = None) -> float:
    """The fraction of the certificate's lifetime still ahead (<= 0: expired)."""
    at = at or now()
    total = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()
    return (cert.not_valid_after_utc - at).total_seconds() / max(total, 1.0)


def needs_renewal(cert: x509.Certificate, at: datetime.datetime | None = None) -> bool:
    return lifetime_left(cert, at) < RENEW_FRACTION


def name(cn: str, orgs: Iterable[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def subject_alt_names(names: Iterable[str]) -> list[x509.GeneralName]:
    """Host names and addresses, each as a DNS or IP SAN."""
    sans: list[x509.GeneralName] = []
    for entry in dict.fromkeys(n.strip("[]") for n in names if n):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            sans.append(x509.DNSName(entry))
    return sans


def san_strings(cert: x509.Certificate) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(v) for v in ext.get_values_for_type(x509.DNSName)} | {
        str(v) for v in ext.get_values_for_type(x509.IPAddress)
    }


def serving_names(listen_host: str = "", extra: Iterable[str] = ()) -> list[str]:
    """What a serving certificate must name: loopback in both families, this
    host, the listen address (unless a wildcard) and any ``--tls-san``."""
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname().lower()]
    if listen_host and listen_host.strip("[]") not in ("0.0.0.0", "::", ""):
        names.append(listen_host.strip("[]"))
    return list(dict.fromkeys([*names, *extra]))


@dataclass(frozen=True)
class Usage:
    server: bool = False
    client: bool = False


@dataclass
class CertificateAuthority:
    cert: x509.Certificate
    key: PrivateKey

    @classmethod
    def create(cls, common_name: str = "shoal-ca") -> CertificateAuthority:
        key = new_key()
        start = now() - BACKDATE
        subject = name(common_name)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    def issue(
        self,
        common_name: str,
        orgs: Iterable[str] = (),
        *,
        usage: Usage,
        sans: Iterable[str] = (),
        public_key: ec.EllipticCurvePublicKey | None = None,
        lifetime: datetime.timedelta = datetime.timedelta(days=LEAF_DAYS),
        not_before: datetime.datetime | None = None,
    ) -> x509.Certificate:
        """A leaf certificate for ``public_key`` (a new key's when signing a CSR)."""
        if public_key is None:
            raise PKIError("issue needs the subject's public key")
        start = not_before or (now() - BACKDATE)
        ekus = [ExtendedKeyUsageOID.SERVER_AUTH] * usage.server + [
            ExtendedKeyUsageOID.CLIENT_AUTH
        ] * usage.client
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common_name, orgs))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + lifetime)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        alt = subject_alt_names(sans)
        if alt:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def issued(self, cert: x509.Certificate, at: datetime.datetime | None = None) -> bool:
        return issued_by(cert, self.cert, at)


def issued_by(
    cert: x509.Certificate, ca_cert: x509.Certificate, at: datetime.datetime | None = None
) -> bool:
    """Whether ``cert`` was signed by ``ca_cert`` and is valid at ``at``."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    at = at or now()
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def new_csr(common_name: str, orgs: Iterable[str] = ()) -> tuple[PrivateKey, bytes]:
    """A key and a PEM certificate signing request for it."""
    key = new_key()
    csr = x509.CertificateSigningRequestBuilder().subject_name(name(common_name, orgs))
    signed = csr.sign(key, hashes.SHA256())
    return key, signed.public_bytes(serialization.Encoding.PEM)


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as err:
        raise PKIError(f"not a PEM certificate signing request: {err}") from None
    if not csr.is_signature_valid:
        raise PKIError("the certificate signing request's signature is not valid")
    if not isinstance(csr.public_key(), ec.EllipticCurvePublicKey):
        raise PKIError("the certificate signing request must be for an ECDSA P-256 key")
    return csr
