"""Who is calling the gateway over HTTPS, and acting for them on the API.

``shoal server --http-listen`` serves HTTPS with the API server's serving
certificate and asks for (without requiring) a client certificate from the
cluster CA. A request is authenticated like a gRPC one (the same
:class:`~shoal.apiserver.authn.Authenticator`): a bearer token in
``Authorization``, else the client certificate. The gateway then calls the
API as ``CN=shoal-gateway`` with ``shoal-impersonate-user`` /
``shoal-impersonate-group`` metadata, which the API server takes from that
certificate only (and from system:masters), so every call runs as the
caller. No credentials: 401, as Kubernetes answers.

Kubernetes' impersonation headers (``Impersonate-User``, ``-Group``,
``-Uid``, ``-Extra-<key>``; ``kubectl --as``) are passed on as gRPC
metadata of the same names, in every mode (``shoal proxy`` too): the API
server checks the caller's ``impersonate`` rights and runs the call as the
impersonated user (:mod:`shoal.apiserver.impersonation`), exactly as for a
gRPC client that sends them.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from shoal import auth, config
from shoal.apiserver.authn import (
    IMPERSONATE_GROUP,
    IMPERSONATE_USER,
    Authenticator,
    Unauthenticated,
)
from shoal.client import Client, call_metadata
from shoal.plugins.gateway.status import response, status

if TYPE_CHECKING:
    from shoal.apiserver.security import ServerSecurity

# What gRPC metadata allows in a key, and (printable ASCII) in a value.
_METADATA_KEY = re.compile(r"[0-9a-z_.-]+")
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz")


def server_ssl_context(cert_file: Any, key_file: Any, ca: bytes) -> ssl.SSLContext:
    """TLS for the gateway: the serving pair, client certificates asked for
    and verified against ``ca`` when sent (Python's ssl can make them optional)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.load_verify_locations(cadata=ca.decode())
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


@dataclass(frozen=True)
class SecureFront:
    """What an HTTPS server in front of a secure API server needs (the
    gateway, the dashboard): a client of its own as ``shoal-gateway``, which
    may impersonate, closed by whoever stops the server; TLS with the API
    server's serving certificate; the authenticator of its callers."""

    client: Client
    ssl_context: ssl.SSLContext
    authenticator: Authenticator


def secure_front(address: str, security: ServerSecurity) -> SecureFront:
    """The :class:`SecureFront` of the API server at ``address``, from its PKI."""
    pair = security.pki.ensure("gateway")
    cfg = config.ClientConfig(
        address, ca_data=security.pki.ca_pem, cert_data=pair.cert_pem, key_data=pair.key_pem
    )
    cert_file, key_file = security.pki.paths("apiserver")
    return SecureFront(
        Client.for_config(cfg),
        server_ssl_context(cert_file, key_file, security.pki.ca_pem),
        security.authenticator(),
    )


def _peer_pem(request: web.Request) -> bytes | None:
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return ssl.DER_cert_to_PEM_cert(der).encode() if der else None


def _peer(request: web.Request) -> str:
    """The connection a request came on (a certificate assertion is bound to one)."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    return f"https:{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else ""


def caller(authenticator: Authenticator, request: web.Request) -> auth.UserInfo:
    header = request.headers.get("Authorization", "")
    metadata = [("authorization", header)] if header else []
    return authenticator.authenticate(metadata, _peer_pem(request), "/gateway", _peer(request))


def impersonation(user: auth.UserInfo) -> tuple[tuple[str, str], ...]:
    groups = [g for g in user.groups if g != auth.AUTHENTICATED_GROUP]
    return ((IMPERSONATE_USER, user.name), *((IMPERSONATE_GROUP, g) for g in groups))


def authentication(authenticator: Authenticator) -> Any:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS:
            return await handler(request)
        try:
            user = caller(authenticator, request)
        except Unauthenticated as err:
            return response(status("Unauthorized", f"Unauthorized: {err}", code=401))
        token = call_metadata.set(impersonation(user))
        try:
            return await handler(request)
        finally:
            call_metadata.reset(token)

    return authenticate


def forwarded_impersonation(headers: Any) -> tuple[tuple[str, str], ...]:
    """The request's Impersonate-* headers as gRPC metadata (lower-case
    names, values as sent); ValueError for what metadata cannot carry."""
    pairs = []
    for name, value in headers.items():
        key = name.lower()
        if not key.startswith("impersonate-"):
            continue
        if not _METADATA_KEY.fullmatch(key):
            raise ValueError(f"the impersonation header {name} has characters shoal cannot pass on")
        if not _METADATA_VALUE.fullmatch(value):
            raise ValueError(f"the value of the impersonation header {name} is not printable ASCII")
        pairs.append((key, value))
    return tuple(pairs)


@web.middleware
async def impersonation_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pass kubectl's impersonation headers on to the API server (after the
    gateway's own metadata, when it authenticated the caller)."""
    try:
        forwarded = forwarded_impersonation(request.headers)
    except ValueError as err:
        return response(status("BadRequest", str(err)))
    if not forwarded:
        return await handler(request)
    token = call_metadata.set(call_metadata.get() + forwarded)
    try:
        return await handler(request)
    finally:
        call_metadata.reset(token)
