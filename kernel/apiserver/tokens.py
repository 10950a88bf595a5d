"""Bearer tokens: static records (join tokens among them), kept only as
hashes, and service-account tokens the server signs and can revoke.

- A static token is ``<id>.<secret>``; ``tokens.json`` holds its id, the
  SHA-256 of the whole token, the user and groups it stands for, when it
  expires. A join token is one with the group ``system:bootstrappers``.
- A service-account token is JWT-shaped (``header.claims.signature``,
  base64url), signed with the Ed25519 key ``sa.key``; the server keeps no
  copy, only the ids (``jti``) it has revoked, in ``revoked-tokens.json``.

Files are re-read when they change, so ``shoal certs``/another API server
sharing the directory see the same records.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pathlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from shoal import auth, pki

BOOTSTRAP_GROUP = "system:bootstrappers"
BOOTSTRAP_USER_PREFIX = "system:bootstrap:"
JOIN_PREFIX = "SH10"  # like k3s' K10: <prefix><CA sha256 hex>::<id>.<secret>
ISSUER = "shoal"
DEFAULT_SA_TOKEN_SECONDS = 3600
MAX_SA_TOKEN_SECONDS = 366 * 86400
# The claim Kubernetes' bound tokens carry: the namespace, service account
# and the pod the token is bound to.
BOUND_CLAIM = "kubernetes.io"


class TokenError(Exception):
    """The token is not one this server accepts (malformed, unknown, expired, revoked)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class JsonFile:
    """A small JSON document on disk (mode 0600), re-read when it changes
    (looked at no more often than every ``recheck`` seconds: it sits on the
    path of every request)."""

    def __init__(self, path: pathlib.Path, empty: Any, recheck: float = 1.0) -> None:
        self.path, self.empty, self.recheck = path, empty, recheck
        self._stamp: tuple[int, int] | None = None
        self._data: Any = empty
        self._checked = 0.0

    def read(self) -> Any:
        now = time.monotonic()
        if self._stamp is not None and now - self._checked < self.recheck:
            return self._data
        self._checked = now
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._data = None, self.empty
            return self.empty
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._data, self._stamp = json.loads(self.path.read_text() or "null"), stamp
        return self._data

    def write(self, data: Any) -> None:
        pki.write_private(self.path, json.dumps(data, indent=1).encode())
        self._stamp, self._checked = None, 0.0


@dataclass(frozen=True)
class JoinToken:
    """What ``shoal agent --token`` takes apart: the CA pin and the bearer part."""

    ca_hash: str  # "sha256:<hex>", "" when the token carries none
    bearer: str

    @classmethod
    def parse(cls, text: str) -> JoinToken:
        text = text.strip()
        pin, sep, bearer = text.partition("::")
        if not sep:
            return cls("", text)
        if not pin.startswith(JOIN_PREFIX) or len(pin) != len(JOIN_PREFIX) + 64:
            raise TokenError(f"a join token starts with {JOIN_PREFIX} and the CA's hash")
        return cls("sha256:" + pin[len(JOIN_PREFIX) :], bearer)

    def __str__(self) -> str:
        pin = JOIN_PREFIX + self.ca_hash.removeprefix("sha256:") if self.ca_hash else ""
        return f"{pin}::{self.bearer}" if pin else self.bearer


class StaticTokens:
    """``<id>.<secret>`` tokens, stored hashed in ``tokens.json``."""

    def __init__(self, path: pathlib.Path) -> None:
        self.file = JsonFile(path, {"tokens": []})

    def add(
        self,
        user: auth.UserInfo,
        *,
        ttl: float | None = None,
        token_id: str = "",
        description: str = "",
    ) -> str:
        token_id = token_id or secrets.token_hex(3)
        token = f"{token_id}.{secrets.token_hex(16)}"
        record = {
            "id": token_id,
            "sha256": digest(token),
            "user": user.name,
            "groups": list(user.groups),
            "uid": user.uid,
            "expires": time.time() + ttl if ttl else 0,
            "description": description,
        }
        records = [r for r in self.file.read()["tokens"] if r["id"] != token_id]
        self.file.write({"tokens": [*records, record]})
        return token

    def remove(self, token_id: str) -> bool:
        records = self.file.read()["tokens"]
        kept = [r for r in records if r["id"] != token_id]
        self.file.write({"tokens": kept})
        return len(kept) != len(records)

    def records(self) -> list[dict[str, Any]]:
        """Every record (hashes, never secrets)."""
        return [dict(r) for r in self.file.read()["tokens"]]

    def authenticate(self, token: str) -> auth.UserInfo | None:
        token_id, sep, _ = token.partition(".")
        if not sep:
            return None
        for record in self.file.read()["tokens"]:
            if record["id"] == token_id and hmac.compare_digest(record["sha256"], digest(token)):
                if record["expires"] and record["expires"] < time.time():
                    if BOOTSTRAP_GROUP in record["groups"]:
                        raise TokenError(
                            "the join token has expired; make a new one on the server "
                            "with `shoal token create`"
                        )
                    raise TokenError("the token has expired")
                return auth.UserInfo(record["user"], tuple(record["groups"]), record["uid"])
        return None


def join_user(token_id: str) -> auth.UserInfo:
    return auth.UserInfo(BOOTSTRAP_USER_PREFIX + token_id, (BOOTSTRAP_GROUP,))


def service_account_user(namespace: str, name: str, uid: str = "") -> auth.UserInfo:
    groups = (auth.SERVICE_ACCOUNTS_GROUP, f"{auth.SERVICE_ACCOUNTS_GROUP}:{namespace}")
    return auth.UserInfo(f"{auth.SERVICE_ACCOUNT_PREFIX}{namespace}:{name}", groups, uid)


class ServiceAccountTokens:
    """Signs and checks service-account tokens; revocation by token id."""

    def __init__(self, directory: pathlib.Path) -> None:
        key_path = directory / "sa.key"
        if not key_path.exists():
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            pki.write_private(key_path, pem)
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise TokenError(f"{key_path} is not an Ed25519 key")
        self.key = loaded
        self.revoked = JsonFile(directory / "revoked-tokens.json", {"revoked": {}})

    def issue(
        self,
        namespace: str,
        name: str,
        seconds: int = DEFAULT_SA_TOKEN_SECONDS,
        bound_pod: tuple[str, str] | None = None,
    ) -> str:
        """A token for ``namespace/name``; ``bound_pod`` (pod name, uid) binds
        it to that pod, as Kubernetes' TokenRequest with a boundObjectRef:
        the token is refused once the pod is gone."""
        issued = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": service_account_user(namespace, name).name,
            "jti": uuid.uuid4().hex,
            "iat": issued,
            "exp": issued + seconds,
            "namespace": namespace,
            "serviceaccount": name,
        }
        if bound_pod is not None:
            claims[BOUND_CLAIM] = {
                "namespace": namespace,
                "serviceaccount": {"name": name},
                "pod": {"name": bound_pod[0], "uid": bound_pod[1]},
            }
        header = _b64(json.dumps({"alg": "EdDSA", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = self.key.sign(f"{header}.{body}".encode())
        return f"{header}.{body}.{_b64(signature)}"

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of a token this server signed (expiry not checked)."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("not a service-account token")
        try:
            self.key.public_key().verify(_unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode())
            claims = json.loads(_unb64(parts[1]))
        except (InvalidSignature, ValueError):
            raise TokenError("the token's signature is not valid") from None
        if not isinstance(claims, dict) or claims.get("iss") != ISSUER:
            raise TokenError("the token was not issued by this cluster")
        return claims

    @staticmethod
    def bound_pod(claims: dict[str, Any]) -> tuple[str, str, str] | None:
        """(namespace, pod name, pod uid) a token is bound to, if any."""
        bound = claims.get(BOUND_CLAIM)
        if not isinstance(bound, dict) or not isinstance(bound.get("pod"), dict):
            return None
        pod = bound["pod"]
        return str(bound.get("namespace", "")), str(pod.get("name", "")), str(pod.get("uid", ""))

    def revoked_id(self, jti: str) -> bool:
        return jti in self.revoked.read()["revoked"]

    def authenticate(self, token: str) -> auth.UserInfo:
        claims = self.claims(token)
        if claims.get("exp", 0) < time.time():
            raise TokenError("the token has expired")
        if claims.get("jti") in self.revoked.read()["revoked"]:
            raise TokenError("the token has been revoked")
        return service_account_user(claims["namespace"], claims["serviceaccount"], claims["jti"])

    def revoke(self, token_or_id: str) -> str:
        """Revoke by the token itself or its id; returns the id."""
        now = time.time()
        if "." in token_or_id:
            claims = self.claims(token_or_id)
            jti, until = str(claims["jti"]), float(claims.get("exp", now + MAX_SA_TOKEN_SECONDS))
        else:
            jti, until = token_or_id, now + MAX_SA_TOKEN_SECONDS
        # A revocation outlives its token only as long as the token would
        # have lived: past its expiry the token is refused anyway.
        revoked = {k: v for k, v in self.revoked.read()["revoked"].items() if v > now}
        revoked[jti] = until
        self.revoked.write({"revoked": revoked})
        return jti
