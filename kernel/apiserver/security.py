"""What a secure ``shoal server`` adds to the API server: its PKI, the
authenticator, the TLS credentials of the listener (re-read when the
serving certificate is rotated, so ``shoal certs rotate`` needs no
restart), the join token and the admin config.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import pathlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from shoal import config, pki
from shoal.apiserver import admintoken
from shoal.apiserver.authn import Authenticator
from shoal.apiserver.jointokens import DEFAULT_JOIN_TOKEN_SECONDS, IssuedNodes, JoinTokens
from shoal.apiserver.pkifiles import KeyPair, ServerPKI
from shoal.apiserver.tokens import JoinToken, ServiceAccountTokens, StaticTokens, TokenError

log = structlog.get_logger("apiserver")
RENEW_CHECK_SECONDS = 3600.0


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_insecure_listen(listen: str) -> None:
    """``--insecure`` serves everyone as admin: never beyond this machine."""
    host = listen.rpartition(":")[0]
    if not is_loopback(host):
        raise ValueError(
            f"--insecure serves every request as cluster admin, so it only listens on "
            f"loopback (127.0.0.1, ::1, localhost), not {host or 'every address'!r}"
        )


@dataclass
class ServerSecurity:
    pki: ServerPKI
    static_tokens: StaticTokens
    service_accounts: ServiceAccountTokens
    _authenticator: Authenticator | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, pki_dir: pathlib.Path, sans: Iterable[str] = ()) -> ServerSecurity:
        server_pki = ServerPKI(pki_dir, sans)
        server_pki.ensure_all()
        return cls(server_pki, StaticTokens(pki_dir / "tokens.json"), ServiceAccountTokens(pki_dir))

    def authenticator(self) -> Authenticator:
        """One for the process: the gRPC listener and the gateway share its
        caches, the replay cache of certificate assertions above all (an
        assertion used on a gRPC connection is a replay on an HTTPS one)."""
        if self._authenticator is None:
            self._authenticator = Authenticator(
                self.pki.ca.cert, self.static_tokens, self.service_accounts
            )
        return self._authenticator

    def server_credentials(self) -> grpc.ServerCredentials:
        """TLS with a client certificate asked for, not required (tokens work
        too); the serving pair is fetched again when its files change."""
        watcher = _ServingFiles(self.pki)
        return grpc.dynamic_ssl_server_credentials(
            watcher.configuration(), watcher.fetch, require_client_authentication=False
        )

    @property
    def join_tokens(self) -> JoinTokens:
        return JoinTokens(self.static_tokens, pki.ca_hash(self.pki.ca.cert))

    @property
    def issued_nodes(self) -> IssuedNodes:
        return IssuedNodes(self.pki.dir / "node-certificates.json")

    def ensure_join_token(
        self, path: pathlib.Path, ttl: float | None = DEFAULT_JOIN_TOKEN_SECONDS
    ) -> JoinToken:
        """The join token in ``path`` (0600): kept while it is good, else a
        new one good for ``ttl`` seconds (None: never expires)."""
        old = None
        if path.exists():
            with contextlib.suppress(TokenError):
                old = JoinToken.parse(path.read_text())
                known = self.static_tokens.authenticate(old.bearer) is not None
                if known and old.ca_hash == pki.ca_hash(self.pki.ca.cert):
                    return old
        token, _, _ = self.join_tokens.create(ttl, "made by shoal server at start")
        if old is not None:  # an expired one goes when its file is replaced
            self.static_tokens.remove(old.bearer.partition(".")[0])
        pki.write_private(path, f"{token}\n".encode())
        return token

    def client_user(self, leaf: str) -> dict[str, Any]:
        return user_entry(self.pki.ensure(leaf))

    def admin_user(self, admin_conf: pathlib.Path) -> dict[str, Any]:
        """admin.conf's user: the admin certificate (what shoal's client
        uses) and a bearer token for every other client (admintoken)."""
        return {
            **self.client_user("admin"),
            "token": admintoken.ensure(self.static_tokens, admin_conf),
        }

    def cluster_entry(self) -> dict[str, Any]:
        return {"certificate-authority-data": _b64(self.pki.ca_pem)}

    async def renew_periodically(self, interval: float = RENEW_CHECK_SECONDS) -> None:
        while True:
            await asyncio.sleep(interval)
            for leaf, pair in list(self.pki.ensure_all().items()):
                expires = str(pair.cert.not_valid_after_utc)
                log.debug("certificate checked", leaf=leaf, expires=expires)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def user_entry(pair: KeyPair) -> dict[str, Any]:
    return {
        "client-certificate-data": _b64(pair.cert_pem),
        "client-key-data": _b64(pair.key_pem),
    }


class _ServingFiles:
    def __init__(self, server_pki: ServerPKI) -> None:
        self.pki = server_pki
        self._stamp = self._mtime()

    def _mtime(self) -> float:
        try:
            return self.pki.paths("apiserver")[0].stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def configuration(self) -> Any:
        key, chain = self.pki.serving_chain()
        return grpc.ssl_server_certificate_configuration([(key, chain)], self.pki.ca_pem)

    def fetch(self) -> Any:
        """Called by grpc on each new connection: a new configuration when
        the serving certificate changed on disk, else None (keep the old)."""
        stamp = self._mtime()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        log.info("serving certificate reloaded")
        return self.configuration()


def write_admin_config(
    path: pathlib.Path, server: str, security: ServerSecurity | None
) -> pathlib.Path:
    """``admin.conf`` (0600): the server, the CA, the admin's certificate
    and bearer token."""
    data = config.set_context(
        config.empty_config(),
        "shoal",
        server,
        user=security.admin_user(path) if security else None,
        cluster=security.cluster_entry() if security else None,
    )
    config.write(path, data)
    return path
