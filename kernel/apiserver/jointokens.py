"""Join tokens and the node names they may claim (like kubeadm's bootstrap
tokens and the kubelet's TLS bootstrap).

- A join token is a static token record (``tokens.json``) in the group
  ``system:bootstrappers``; it expires (24 hours unless asked otherwise,
  as kubeadm's), and an admin lists and deletes them
  (``shoal token create|list|delete``).
- A join token gets a certificate for a *new* node only: a name that has a
  Node object, or for which a certificate that is still valid was issued,
  belongs to that node, which renews with its own certificate. Every node
  certificate issued is recorded in ``node-certificates.json`` (name ->
  expiry) beside the CA.
"""

from __future__ import annotations

import pathlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from shoal import auth, errors
from shoal.apiserver.tokens import BOOTSTRAP_GROUP, JoinToken, JsonFile, StaticTokens, join_user

DEFAULT_JOIN_TOKEN_SECONDS = 24 * 3600
MAX_JOIN_TOKEN_SECONDS = 366 * 86400
NodeExists = Callable[[str], Awaitable[bool]]


class JoinTokens:
    """Create, list and delete join tokens (records in ``StaticTokens``)."""

    def __init__(self, static: StaticTokens, ca_hash: str) -> None:
        self.static, self.ca_hash = static, ca_hash

    def create(
        self, ttl: float | None = DEFAULT_JOIN_TOKEN_SECONDS, description: str = ""
    ) -> tuple[JoinToken, str, float]:
        """(the token, its id, its expiry or 0); ``ttl`` None: never expires."""
        if ttl is not None and not 0 < ttl <= MAX_JOIN_TOKEN_SECONDS:
            raise errors.InvalidError(
                f"ttl_seconds: Invalid value: {ttl:.0f}: must be between 1 and "
                f"{MAX_JOIN_TOKEN_SECONDS} (a year), or -1 for a token that never expires"
            )
        token_id = secrets.token_hex(3)
        bearer = self.static.add(
            join_user(token_id), ttl=ttl, token_id=token_id, description=description
        )
        expires = time.time() + ttl if ttl else 0.0
        return JoinToken(self.ca_hash, bearer), token_id, expires

    def list(self) -> list[dict[str, Any]]:
        return [r for r in self.static.records() if BOOTSTRAP_GROUP in r.get("groups", ())]

    def delete(self, token_id: str) -> None:
        if not any(r["id"] == token_id for r in self.list()):
            raise errors.NotFoundError(f'join token "{token_id}" not found')
        self.static.remove(token_id)


class IssuedNodes:
    """Which node names hold a certificate, and until when."""

    def __init__(self, path: pathlib.Path) -> None:
        self.file = JsonFile(path, {"nodes": {}}, recheck=0.0)

    def valid_until(self, node: str) -> float:
        until = float(self.file.read()["nodes"].get(node, 0))
        return until if until > time.time() else 0.0

    def record(self, node: str, not_after: float) -> None:
        now = time.time()
        nodes = {k: v for k, v in self.file.read()["nodes"].items() if v > now}
        nodes[node] = max(not_after, float(nodes.get(node, 0)))
        self.file.write({"nodes": nodes})


async def check_may_join(
    user: auth.UserInfo, node: str, issued: IssuedNodes, node_exists: NodeExists | None
) -> None:
    """A join token may not take over a node that exists (ForbiddenError)."""
    if BOOTSTRAP_GROUP not in user.groups:
        return
    until = issued.valid_until(node)
    exists = node_exists is not None and await node_exists(node)
    if not exists and not until:
        return
    why = (
        "a Node object"
        if exists
        else "a certificate valid until " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(until))
    )
    raise errors.ForbiddenError(
        f'node "{node}" has joined already ({why}): a join token cannot take over an '
        "existing node, which renews with its own certificate; join under another name"
    )
