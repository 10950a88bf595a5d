"""The admin's bearer token: what a gRPC client in any language presents.

``admin.conf`` carries the admin's client certificate, but the API server's
gRPC port never asks for a client certificate in the TLS handshake (Python's
gRPC server cannot ask and accept none, and tokens share the port): the
shoal client proves its certificate with a signed assertion
(:mod:`shoal.certauth`), which other languages would have to make by hand.
So ``admin.conf`` also carries a ``token:`` that works as ``authorization:
Bearer`` metadata (or the gateway's ``Authorization`` header), the way
kubeconfigs of managed clusters carry one:

- it is a static token record (``<id>.<secret>``, kept hashed in
  ``tokens.json``) for ``shoal-admin`` in ``system:masters``, the same
  identity as the admin certificate;
- it lives as long as a leaf certificate (a year) and ``shoal server``
  makes a new one at start when a third of that is left, or when the one
  in ``admin.conf`` no longer works (revoked, expired, from another PKI);
- ``shoal revoke-token TOKEN_OR_ID`` removes it at once (any static
  token, join tokens included); ``shoal certs rotate admin`` makes a new
  one, as it makes a new certificate.

One record per ``admin.conf``: its description names the file, and a new
token for the file replaces the old record.
"""

from __future__ import annotations

import hmac
import pathlib
import time
from typing import Any

from shoal import auth, config
from shoal.apiserver.pkifiles import ADMIN_USER
from shoal.apiserver.tokens import StaticTokens, TokenError, digest

ADMIN_TOKEN_SECONDS = 365 * 86400  # as long as the admin certificate


def admin_user() -> auth.UserInfo:
    return auth.UserInfo(ADMIN_USER, (auth.ADMIN_GROUP,))


def description(admin_conf: pathlib.Path) -> str:
    return f"admin token of {admin_conf.expanduser().resolve()}"


def written_token(admin_conf: pathlib.Path) -> str:
    """The ``token`` of the first user in ``admin_conf`` ("" when none)."""
    try:
        data = config.read(admin_conf)
    except (config.ConfigError, OSError):
        return ""
    users = data.get("users") or [{}]
    return str(((users[0] or {}).get("user") or {}).get("token") or "")


def _record(static: StaticTokens, token: str) -> dict[str, Any] | None:
    token_id, sep, _ = token.partition(".")
    if not sep:
        return None
    for record in static.records():
        if record["id"] == token_id and hmac.compare_digest(record["sha256"], digest(token)):
            return record
    return None


def still_good(static: StaticTokens, token: str, ttl: float = ADMIN_TOKEN_SECONDS) -> bool:
    """Whether ``token`` is a live admin token with more than a third of its life left."""
    record = _record(static, token)
    if record is None or record["user"] != ADMIN_USER:
        return False
    if auth.ADMIN_GROUP not in record["groups"]:
        return False
    expires = float(record["expires"] or 0)
    return not expires or expires - time.time() > ttl / 3


def issue(static: StaticTokens, admin_conf: pathlib.Path, ttl: float = ADMIN_TOKEN_SECONDS) -> str:
    """A new admin token for ``admin_conf``; the file's earlier ones stop working."""
    mine = description(admin_conf)
    for record in static.records():
        if record.get("description") == mine:
            static.remove(record["id"])
    return static.add(admin_user(), ttl=ttl, description=mine)


def ensure(static: StaticTokens, admin_conf: pathlib.Path, ttl: float = ADMIN_TOKEN_SECONDS) -> str:
    """The token already in ``admin_conf`` while it is good, else a new one."""
    token = written_token(admin_conf)
    if token and still_good(static, token, ttl):
        return token
    return issue(static, admin_conf, ttl)


def revoke(static: StaticTokens, token_or_id: str) -> str | None:
    """Remove the static token ``<id>.<secret>`` (or the record of that id);
    its id, or None when it names no static token (a service-account one)."""
    token_id, sep, _ = token_or_id.partition(".")
    if sep:
        if token_or_id.count(".") != 1:
            return None  # JWT-shaped: a service-account token
        if _record(static, token_or_id) is None:
            raise TokenError("no such token in this cluster")
    elif not live(static, token_id):
        return None
    static.remove(token_id)
    return token_id


def live(static: StaticTokens, token_id: str) -> bool:
    """Whether a static token of that id is on record (checked on each use
    of a cached token, so a revocation takes effect at once)."""
    return any(record["id"] == token_id for record in static.file.read()["tokens"])
