"""Who the dashboard acts for, and what they may do.

In a secure cluster the browser signs in with a bearer token (a service
account token, ``shoal create token``), as on Kubernetes' dashboard: the
login form checks it with the API server's authenticator and keeps it in an
HttpOnly, Secure, SameSite=Strict cookie. Each request then runs with the
``shoal-impersonate-*`` metadata of that user (the gateway's way), so the API
server's RBAC decides. ``allowed`` asks the Authorization service (a
SelfSubjectAccessReview) so the UI offers only the actions the user may take.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aiohttp import web
from shoal.api.v1 import authorization_pb2 as pb
from shoal.api.v1 import authorization_pb2_grpc
from shoal.apiserver.authn import Authenticator, Unauthenticated
from shoal.client import Client, call_metadata
from shoal.plugins.dashboard.errors import Handler, Refused
from shoal.plugins.gateway.authn import impersonation

COOKIE = "shoal-dashboard-token"
SECURE_KEY = web.AppKey("secure", bool)
AUTHENTICATOR_KEY = web.AppKey("authenticator", Authenticator)
USER_KEY = web.RequestKey("user", str)
OPEN_PATHS = ("/login", "/static/")
MAX_TOKEN = 8192
ACTION_HEADER = "X-Shoal-Dashboard"


def _authenticate(authenticator: Authenticator, token: str, request: web.Request) -> Any:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    where = f"https:{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else ""
    return authenticator.authenticate(
        [("authorization", f"Bearer {token}")], None, "/dashboard", where
    )


def _cross_site(request: web.Request) -> bool:
    """An action without the page's header: a form of another site can post
    a body, never a custom header (that needs CORS, which is not offered)."""
    posted = request.method == "POST" and request.path.startswith("/actions/")
    return posted and request.headers.get(ACTION_HEADER) != "1"


def authentication(authenticator: Authenticator | None) -> Any:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(OPEN_PATHS):
            return await handler(request)
        if _cross_site(request):
            raise Refused(f"actions come from the dashboard's page only ({ACTION_HEADER})", 403)
        if authenticator is None:
            return await handler(request)
        token = request.cookies.get(COOKIE, "")
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header.removeprefix("Bearer ")
        try:
            user = _authenticate(authenticator, token, request) if token else None
        except Unauthenticated:
            user = None
        if user is None:
            if request.method == "GET" and request.path in ("/", "/object"):
                raise web.HTTPFound("/login")
            raise Refused("sign in first: no valid token (open /login)", 401)
        saved = call_metadata.set(impersonation(user))
        request[USER_KEY] = user.name
        try:
            return await handler(request)
        finally:
            call_metadata.reset(saved)

    return authenticate


LOGIN_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>shoal dashboard: sign in</title>
<link rel="stylesheet" href="/static/dashboard.css"></head><body class="login">
<form method="post" action="/login"><h1>shoal dashboard</h1>
<p>This cluster needs a bearer token. Make one with
<code>shoal create token NAME -n NAMESPACE</code> (a service account's).</p>
<label>Token <textarea name="token" id="token" rows="4" required></textarea></label>
{error}<button type="submit" id="sign-in">Sign in</button></form></body></html>"""


async def login_form(request: web.Request) -> web.Response:
    return web.Response(text=LOGIN_PAGE.format(error=""), content_type="text/html")


async def login(request: web.Request) -> web.Response:
    if not request.app[SECURE_KEY]:
        raise web.HTTPFound("/")
    form = await request.post()
    token = str(form.get("token", "")).strip()
    error = ""
    if not token or len(token) > MAX_TOKEN:
        error = "a token is required (at most 8 KiB)"
    else:
        authenticator = request.app[AUTHENTICATOR_KEY]
        try:
            _authenticate(authenticator, token, request)
        except Unauthenticated as err:
            error = f"that token was refused: {err}"
    if error:
        page = LOGIN_PAGE.format(error=f'<p class="error" id="login-error">{escape(error)}</p>')
        return web.Response(text=page, content_type="text/html", status=401)
    answer = web.HTTPFound("/")
    answer.set_cookie(COOKIE, token, httponly=True, secure=True, samesite="Strict")
    raise answer


async def logout(request: web.Request) -> web.Response:
    answer = web.HTTPFound("/login")
    answer.del_cookie(COOKIE)
    raise answer


async def allowed(
    client: Client, verb: str, kind: Any, namespace: str = "", name: str = "", subresource: str = ""
) -> bool:
    """Whether the user may ``verb`` the kind (a SelfSubjectAccessReview)."""
    stub = authorization_pb2_grpc.AuthorizationStub(client.channel)
    attrs = pb.ResourceAttributes(
        verb=verb,
        group=kind.group,
        resource=kind.plural,
        subresource=subresource,
        namespace=namespace if kind.namespaced else "",
        name=name,
    )
    answer = await stub.Review(pb.AccessReviewRequest(resource_attributes=attrs))
    return bool(answer.allowed)
