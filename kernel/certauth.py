"""Client-certificate authentication over a TLS connection that does not
ask for client certificates.

Python's gRPC server can require a client certificate or not ask for one;
it cannot ask and accept its absence. The API server must take tokens on
the same port, so it does not ask, and a client proves it holds a
certificate's key the way Google's self-signed JWTs do: each call carries
``authorization: Bearer <assertion>``, a JWT (ES256) whose header holds the
certificate (``x5c``) and whose claims say who it is for and until when (5
minutes), signed with the certificate's key. The server checks the
certificate against the cluster CA (and its validity period) and the
signature against the certificate, then takes CN as the user and O as the
groups, exactly as it would from the TLS handshake. The assertion travels
only inside TLS to the server it names, like any bearer token.

An assertion lives at most LIFETIME seconds and carries a unique ``jti``;
the server binds each jti to the connection that first presents it
(``shoal.apiserver.replay``), so a copy is worth nothing elsewhere, and a
client signs a new assertion for each new connection.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from shoal import pki

AUDIENCE = "shoal-apiserver"
LIFETIME = 300  # seconds an assertion is good for
REFRESH = 240  # a client makes a new one this often
SKEW = 30  # seconds of clock difference tolerated between client and server


class AssertionError_(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_assertion(token: str) -> bool:
    """Whether a bearer token is a certificate assertion (header with x5c)."""
    head = token.split(".", 1)[0]
    try:
        return "x5c" in json.loads(_unb64(head))
    except ValueError:
        return False


def make_assertion(cert_pem: bytes, key: pki.PrivateKey, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"aud": AUDIENCE, "iat": issued, "exp": issued + LIFETIME, "jti": uuid.uuid4().hex}
    return sign_assertion(cert_pem, key, claims)


def sign_assertion(cert_pem: bytes, key: pki.PrivateKey, claims: dict[str, Any]) -> str:
    """An ES256 JWT of ``claims`` with the certificate in its ``x5c`` header."""
    der = pki.load_cert(cert_pem).public_bytes(serialization.Encoding.DER)
    header = {"alg": "ES256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def verify_assertion(token: str, now: float | None = None) -> tuple[x509.Certificate, float, str]:
    """(the certificate, the time until which the assertion is accepted,
    its ``jti``); the caller checks the certificate against the CA and the
    jti against replays. Raises AssertionError_."""
    try:
        head, body, sig = token.split(".")
        header, claims = json.loads(_unb64(head)), json.loads(_unb64(body))
        cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
        raw = _unb64(sig)
        signature = encode_dss_signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        )
        public = cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or len(raw) != 64:
            raise AssertionError_("the certificate assertion is not ES256")
        public.verify(signature, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    except (ValueError, KeyError, IndexError, TypeError, InvalidSignature):
        raise AssertionError_("the certificate assertion is malformed or its signature "
                              "does not match the certificate") from None  # fmt: skip
    if not isinstance(claims, dict) or claims.get("aud") != AUDIENCE:
        raise AssertionError_("the certificate assertion is for another audience")
    until = check_window(claims, now if now is not None else time.time())
    return cert, until, str(claims["jti"])


def check_window(claims: dict[str, Any], at: float) -> float:
    """An assertion lives at most LIFETIME seconds and is taken only inside
    its window, SKEW seconds of clock difference allowed at either end;
    returns the time until which it is accepted."""
    for name in ("iat", "exp"):
        if not isinstance(claims.get(name), int | float) or isinstance(claims[name], bool):
            raise AssertionError_(f"the certificate assertion has no {name} (a number) claim")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 128:
        raise AssertionError_("the certificate assertion has no jti (a unique id) claim")
    issued, expires, not_before = claims["iat"], claims["exp"], claims.get("nbf", claims["iat"])
    if not 0 < expires - issued <= LIFETIME:
        raise AssertionError_(
            f"the certificate assertion lives longer than {LIFETIME // 60} minutes "
            f"(exp - iat = {expires - issued:.0f}s); sign a new one for each few minutes"
        )
    if issued > at + SKEW:
        raise AssertionError_("the certificate assertion was issued in the future "
                              "(is the client's clock right?)")  # fmt: skip
    if isinstance(not_before, int | float) and not_before > at + SKEW:
        raise AssertionError_("the certificate assertion is not valid yet (nbf)")
    if expires + SKEW < at:
        raise AssertionError_("the certificate assertion has expired")
    return float(expires) + SKEW


class CertificateCredentials(grpc.AuthMetadataPlugin):
    """A client's assertions. The server binds each assertion (its ``jti``)
    to the connection that first presents it, so one assertion serves every
    call on one connection for REFRESH seconds (a signature per call would
    cost more than the call), and a new connection needs a new one:
    ``renew()``. As gRPC call credentials (a channel made by hand, where the
    connection is not known) every call gets a new assertion."""

    def __init__(self, cert_pem: bytes, key_pem: bytes) -> None:
        self.cert_pem, self.key = cert_pem, pki.load_key(key_pem)
        self._lock = threading.Lock()
        self._token, self._made = "", 0.0

    def token(self) -> str:
        with self._lock:
            now = time.time()
            if not self._token or now - self._made > REFRESH:
                self._token, self._made = make_assertion(self.cert_pem, self.key, now), now
            return self._token

    def renew(self) -> None:
        """The next ``token()`` is a new assertion (for a new connection)."""
        with self._lock:
            self._token = ""

    def __call__(self, context: Any, callback: Any) -> None:
        token = make_assertion(self.cert_pem, self.key)
        callback((("authorization", f"Bearer {token}"),), None)


def call_credentials(cert_pem: bytes, key_pem: bytes) -> grpc.CallCredentials:
    return grpc.metadata_call_credentials(
        CertificateCredentials(cert_pem, key_pem), name="shoal-x509"
    )
