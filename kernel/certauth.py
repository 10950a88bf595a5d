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
SKEW = 60  # clock difference tolerated between client and server


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
    der = pki.load_cert(cert_pem).public_bytes(serialization.Encoding.DER)
    header = {"alg": "ES256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
    claims = {"aud": AUDIENCE, "iat": issued, "exp": issued + LIFETIME, "jti": uuid.uuid4().hex}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def verify_assertion(token: str, now: float | None = None) -> tuple[x509.Certificate, float]:
    """(the certificate, the assertion's expiry); the caller checks the
    certificate against the CA. Raises AssertionError_."""
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
    at = now if now is not None else time.time()
    if claims.get("aud") != AUDIENCE:
        raise AssertionError_("the certificate assertion is for another audience")
    if not claims.get("iat", 0) - SKEW <= at <= claims.get("exp", 0) + SKEW:
        raise AssertionError_("the certificate assertion has expired")
    return cert, float(claims["exp"]) + SKEW


class CertificateCredentials(grpc.AuthMetadataPlugin):
    """Call credentials: a fresh assertion every few minutes, one per client."""

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

    def __call__(self, context: Any, callback: Any) -> None:
        callback((("authorization", f"Bearer {self.token()}"),), None)


def call_credentials(cert_pem: bytes, key_pem: bytes) -> grpc.CallCredentials:
    return grpc.metadata_call_credentials(
        CertificateCredentials(cert_pem, key_pem), name="shoal-x509"
    )
