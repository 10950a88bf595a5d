"""Authentication: who is asking, established before any handler runs.

Every RPC of the API server passes through :class:`AuthenticationInterceptor`.
It turns the request's credentials into an :class:`auth.UserInfo` and sets
it with :func:`auth.set_current_user` for the handler, or answers
UNAUTHENTICATED and the handler never runs:

- a bearer token (``authorization: Bearer ...`` metadata): a service-account
  token this server signed, or a static token record (join tokens among
  them); a token is tried first when both are presented;
- a client certificate signed by the cluster CA: CN is the user, O the
  groups. Python's gRPC server cannot ask for a certificate without
  requiring one, and tokens must work on the same port, so the client
  proves its certificate with a short signed assertion in the
  ``authorization`` metadata (:mod:`shoal.certauth`); a certificate from
  the TLS handshake, where there is one, is taken too. Either way the
  certificate is checked here against the CA and its validity period.

Every authenticated user also gets ``system:authenticated``. Join-token
identities (``system:bootstrappers``) are good only for the Certificates
service. The gateway's certificate (CN ``shoal-gateway``) and members of
``system:masters`` may act for another user with ``shoal-impersonate-user``
/ ``shoal-impersonate-group`` metadata: the gateway passes on the caller it
authenticated. Kubernetes' impersonation (``impersonate-user`` and friends,
``kubectl --as``) is open to anyone RBAC allows, checked after this by
:mod:`shoal.apiserver.impersonation`.

An API server without an :class:`Authenticator` (the in-process servers of
tests and ``--insecure`` on loopback) serves every request as
``auth.INSECURE_ADMIN``.

Authorization (RBAC, the node authorizer) reads :func:`auth.current_user`
from the handlers, after this; ``authorize_request`` below is the hook for
checks that need only the user and the method.
"""

from __future__ import annotations

import datetime
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
from cryptography import x509
from shoal import auth, certauth, errors, pki
from shoal.apiserver import admintoken
from shoal.apiserver.handlers import HandlerInterceptor, WrappedHandlers, rewrap
from shoal.apiserver.impersonation import Impersonator
from shoal.apiserver.pkifiles import GATEWAY_USER
from shoal.apiserver.replay import ReplayCache, ReplayError
from shoal.apiserver.tokens import (
    BOOTSTRAP_GROUP,
    ServiceAccountTokens,
    StaticTokens,
    TokenError,
)

IMPERSONATE_USER = "shoal-impersonate-user"
IMPERSONATE_GROUP = "shoal-impersonate-group"
# Health answers anyone, like /healthz: load balancers and `shoal up` probe
# it; the version too, as Kubernetes serves /version to anonymous callers.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/shoal.v1.Discovery/Version")
BOOTSTRAP_PREFIXES = ("/shoal.v1.Certificates/",)
_CACHE_LIMIT = 4096
ASSERTION, SERVICE_ACCOUNT, STATIC = "assertion", "serviceaccount", "static"
STATIC_TOKEN_CACHE_SECONDS = 5.0
# The gRPC port never asks for a client certificate in the handshake (see
# shoal.certauth), so a client that hands its TLS library admin.conf's
# certificate and key sends none: say what works instead.
NO_CREDENTIALS = (
    "no credentials: send `authorization: Bearer TOKEN` metadata with admin.conf's token "
    "(users[].user.token), a service-account token (`shoal create token`) or a certificate "
    "assertion as shoal's client signs it (an ES256 JWT with the client certificate in its "
    "x5c header, audience shoal-apiserver); the gRPC port does not ask for a client "
    "certificate in the TLS handshake (docs/api.md, From other languages)"
)


class Unauthenticated(Exception):
    """The request's credentials are missing or not acceptable."""


class Authenticator:
    """Credentials -> UserInfo: plain logic, no gRPC (the gateway uses it too)."""

    def __init__(
        self,
        ca_cert: x509.Certificate,
        static: StaticTokens | None = None,
        service_accounts: ServiceAccountTokens | None = None,
    ) -> None:
        self.ca_cert = ca_cert
        self.static = static
        self.service_accounts = service_accounts
        self._certs: dict[bytes, tuple[auth.UserInfo, datetime.datetime]] = {}
        # token -> (user, good until, kind, its id: a jti to check on every use)
        self._tokens: dict[str, tuple[auth.UserInfo, float, str, str]] = {}
        self.replays = ReplayCache()
        # (namespace, pod, uid) -> does that pod still exist? Set by the API
        # server; bound service-account tokens die with their pod.
        self.pod_exists: Callable[[str, str, str], bool] | None = None
        self._bound: dict[str, tuple[str, str, str]] = {}  # token id -> its pod

    def from_certificate(self, pem: bytes) -> auth.UserInfo:
        cached = self._certs.get(pem)
        now = pki.now()
        if cached is not None and now <= cached[1]:
            return cached[0]
        cert = pki.load_cert(pem)
        if not pki.issued_by(cert, self.ca_cert, now):
            raise Unauthenticated("the client certificate is not valid: expired, not yet "
                                  "valid, or not signed by the cluster's CA")  # fmt: skip
        name, groups = pki.identity(cert)
        if not name:
            raise Unauthenticated("the client certificate has no common name")
        user = auth.UserInfo(name, groups)
        if len(self._certs) >= _CACHE_LIMIT:
            self._certs.clear()
        self._certs[pem] = (user, cert.not_valid_after_utc)
        return user

    def from_assertion(self, token: str, peer: str = "") -> tuple[auth.UserInfo, float, str]:
        """A client certificate proven by a signed assertion (see shoal.certauth):
        (user, accepted until, jti)."""
        try:
            cert, expires, jti = certauth.verify_assertion(token)
        except certauth.AssertionError_ as err:
            raise Unauthenticated(str(err)) from None
        user = self.from_certificate(pki.cert_pem(cert))
        self._bind(jti, peer, expires)
        return user, min(expires, cert.not_valid_after_utc.timestamp()), jti

    def _bind(self, jti: str, peer: str, until: float) -> None:
        try:
            self.replays.bind(jti, peer, until)
        except ReplayError as err:
            raise Unauthenticated(str(err)) from None

    def from_token(self, token: str, peer: str = "") -> auth.UserInfo:
        """Signatures are checked once per token; the answer is kept until the
        token expires (static records: a few seconds, as the file may change),
        and a revocation (a replay, for an assertion) is looked up on every use."""
        now = time.time()
        cached = self._tokens.get(token)
        if cached is not None and now <= cached[1]:
            user, until, kind, token_id = cached
            if kind == ASSERTION:
                self._bind(token_id, peer, until)
            elif self._withdrawn(kind, token_id):
                raise Unauthenticated("invalid bearer token: the token has been revoked")
            elif kind == SERVICE_ACCOUNT:
                self._check_bound(token_id)
            return user
        user, expires, kind, token_id = self._verify_token(token, now, peer)
        if len(self._tokens) >= _CACHE_LIMIT:
            self._tokens.clear()
            self._bound = {k: v for k, v in self._bound.items() if k == token_id}
        self._tokens[token] = (user, expires, kind, token_id)
        return user

    def _check_bound(self, jti: str) -> None:
        bound = self._bound.get(jti)
        if bound is None or self.pod_exists is None or self.pod_exists(*bound):
            return
        namespace, name, uid = bound
        raise Unauthenticated(
            f'invalid bearer token: pod "{namespace}/{name}" (uid {uid}) '
            "the token was bound to no longer exists"
        )

    def _revoked(self, jti: str) -> bool:
        return self.service_accounts is not None and self.service_accounts.revoked_id(jti)

    def _withdrawn(self, kind: str, token_id: str) -> bool:
        """Whether a cached token was revoked since: a service-account token's
        id on the revoked list, a static token's record gone."""
        if kind == SERVICE_ACCOUNT:
            return self._revoked(token_id)
        if kind == STATIC:
            return self.static is not None and not admintoken.live(self.static, token_id)
        return False

    def _verify_token(
        self, token: str, now: float, peer: str
    ) -> tuple[auth.UserInfo, float, str, str]:
        if certauth.is_assertion(token):
            user, until, jti = self.from_assertion(token, peer)
            return user, until, ASSERTION, jti
        try:
            if token.count(".") == 2 and self.service_accounts is not None:
                user = self.service_accounts.authenticate(token)
                claims = self.service_accounts.claims(token)
                bound = self.service_accounts.bound_pod(claims)
                if bound is not None:
                    self._bound[user.uid] = bound
                    self._check_bound(user.uid)
                return user, float(claims["exp"]), SERVICE_ACCOUNT, user.uid
            found = self.static.authenticate(token) if self.static is not None else None
        except TokenError as err:
            raise Unauthenticated(f"invalid bearer token: {err}") from None
        if found is None:
            raise Unauthenticated("invalid bearer token")
        # A join token is not kept: joins are rare, and a deleted one must
        # stop working at once.
        keep = 0.0 if BOOTSTRAP_GROUP in found.groups else STATIC_TOKEN_CACHE_SECONDS
        return found, now + keep, STATIC, token.partition(".")[0]

    def authenticate(
        self,
        metadata: Sequence[tuple[str, Any]],
        peer_pem: bytes | None,
        method: str = "",
        peer: str = "",
    ) -> auth.UserInfo:
        """The user of one request (raises Unauthenticated); ``peer`` names
        the connection (address and port) it came on."""
        token = bearer_token(metadata)
        if token:
            user = self.from_token(token, peer)
        elif peer_pem:
            user = self.from_certificate(peer_pem)
        else:
            raise Unauthenticated(NO_CREDENTIALS)
        if BOOTSTRAP_GROUP in user.groups and not method.startswith(BOOTSTRAP_PREFIXES):
            raise Unauthenticated("a join token is only good for joining a node")
        return with_authenticated(impersonated(user, metadata))


def bearer_token(metadata: Sequence[tuple[str, Any]]) -> str:
    for key, value in metadata:
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else str(value)
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return ""


def impersonated(user: auth.UserInfo, metadata: Sequence[tuple[str, Any]]) -> auth.UserInfo:
    """The user named by impersonation metadata, when ``user`` may act for others."""
    name = next((str(v) for k, v in metadata if k == IMPERSONATE_USER), "")
    if not name:
        return user
    if user.name != GATEWAY_USER and auth.ADMIN_GROUP not in user.groups:
        raise Unauthenticated(f'user "{user.name}" may not impersonate other users')
    groups = tuple(str(v) for k, v in metadata if k == IMPERSONATE_GROUP)
    return auth.UserInfo(name, groups)


def with_authenticated(user: auth.UserInfo) -> auth.UserInfo:
    if auth.AUTHENTICATED_GROUP in user.groups:
        return user
    return auth.UserInfo(user.name, (*user.groups, auth.AUTHENTICATED_GROUP), user.uid)


def peer_certificate(context: Any) -> bytes | None:
    """The PEM of the client's certificate, when it presented one."""
    pems = (context.auth_context() or {}).get("x509_pem_cert") or []
    return bytes(pems[0]) if pems else None


async def authorize_request(user: auth.UserInfo, method: str, context: Any) -> None:
    """Checks that need only the identity and the RPC name run here (none
    yet); object-level authorization reads ``auth.current_user()`` in the
    handlers."""


# -- the gRPC side --------------------------------------------------------------

Login = Callable[[Any, str], Awaitable[auth.UserInfo]]


def login_with(
    authenticator: Authenticator | None, impersonator: Impersonator | None = None
) -> Login:
    """The per-request login: authenticate (or abort UNAUTHENTICATED), take
    on the identity the request impersonates if the caller may (or abort
    PERMISSION_DENIED), then authorize."""

    async def login(context: Any, method: str) -> auth.UserInfo:
        metadata = context.invocation_metadata() or ()
        if authenticator is None:
            user = auth.INSECURE_ADMIN
        else:
            try:
                # The handshake's certificate only matters without a token.
                pem = None if bearer_token(metadata) else peer_certificate(context)
                user = authenticator.authenticate(metadata, pem, method, context.peer() or "")
            except (Unauthenticated, pki.PKIError) as err:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(err))
                raise AssertionError("unreachable") from None
        if impersonator is not None:
            try:
                user = await impersonator.resolve(user, metadata, method)
            except errors.APIError as err:
                await context.abort(err.code, err.message, errors.trailing_metadata(err))
                raise AssertionError("unreachable") from None
        await authorize_request(user, method, context)
        return user

    return login


class AuthenticationInterceptor(HandlerInterceptor):
    """Wraps every handler so it runs as the authenticated user."""

    def __init__(self, login: Login, public: tuple[str, ...] = PUBLIC_PREFIXES) -> None:
        self.login, self.public = login, public
        self._wrapped = WrappedHandlers()

    def intercept_handler(self, handler: Any, details: Any) -> Any:
        method = details.method
        if handler is None or method.startswith(self.public):
            return handler
        return self._wrapped.get(method, handler, lambda: wrap_handler(handler, self.login, method))


def wrap_handler(handler: Any, login: Login, method: str) -> Any:
    return rewrap(
        handler,
        lambda kind, behavior: (_streaming if kind.endswith("stream") else _unary)(
            behavior, login, method
        ),
    )


def _unary(behavior: Any, login: Login, method: str) -> Any:
    async def call(request: Any, context: Any) -> Any:
        auth.set_current_user(await login(context, method))
        result = behavior(request, context)
        return await result if inspect.isawaitable(result) else result

    return call


def _streaming(behavior: Any, login: Login, method: str) -> Any:
    async def call(request: Any, context: Any) -> AsyncIterator[Any]:
        auth.set_current_user(await login(context, method))
        result = behavior(request, context)
        if hasattr(result, "__aiter__"):
            async for item in result:
                yield item
        elif inspect.isawaitable(result):
            await result

    return call
