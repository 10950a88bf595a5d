"""``/metrics`` and the request metrics of the REST gateway.

Every REST request is counted in ``apiserver_request_total`` (component
``apiserver``) with the labels kube-apiserver gives it — ``POST`` for a
create, ``LIST`` for a GET of a collection, ``WATCH``, ``APPLY`` for a
server-side apply, ``CONNECT`` for exec, port-forward and proxy — and the
HTTP code the gateway answered. The gRPC calls the gateway makes for it
carry ``shoal-via: gateway``, so the API server does not count them again.

``GET /metrics`` serves the process's registry in the Prometheus text
format. As in Kubernetes it needs ``get`` on the non-resource URL
``/metrics`` (cluster-admin and system:masters have it; view does not),
asked of the API as the caller through an access review."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from shoal import auth, errors, metrics
from shoal.apiserver.authz import Attributes, forbidden
from shoal.apiserver.instrumentation import GATEWAY_MARK, Series, series
from shoal.client import call_metadata
from shoal.plugins.gateway import paths
from shoal.plugins.gateway.access import AccessCheck
from shoal.plugins.gateway.paths import Target
from shoal.plugins.gateway.status import StatusError
from shoal.plugins.gateway.watch import is_watch

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
APPLY_PATCH = "application/apply-patch+yaml"
CONNECT_SUBRESOURCES = ("attach", "exec", "proxy", "portforward")
SUBRESOURCES = ("status", "scale", "log", "binding", "eviction", *CONNECT_SUBRESOURCES)
_NOBODY = auth.UserInfo("")
METRICS_PATH = "/metrics"


def request_series(request: web.Request, target: Target | None) -> Series:
    """The series kube-apiserver would count ``request`` in. Only a path
    that named a served kind gives resource labels, so a caller cannot add
    series by inventing paths."""
    if target is None:  # discovery, /metrics, /healthz, an unknown path
        return series(request.method.upper(), "", "", "", "", "")
    method = request.method
    if method in ("GET", "HEAD"):  # LIST, WATCH or GET, as RequestInfo reads it
        verb = "WATCH" if is_watch(request) else ("GET" if target.name else "LIST")
    else:
        verb = method
    sub = target.subresource if target.subresource in SUBRESOURCES else ""
    if verb == "PATCH" and request.content_type == APPLY_PATCH:
        verb = "APPLY"
    if sub in CONNECT_SUBRESOURCES:
        verb = "CONNECT"
    if target.name or verb == "POST":
        scope = "resource"
    else:
        scope = "namespace" if target.namespace else "cluster"
    kind = target.kind
    return series(verb, kind.group, kind.version, kind.plural, sub, scope)


def _target(request: web.Request) -> Target | None:
    """The kind the path names, read as the router will (None: no kind)."""
    info = request.match_info
    tail = info.get("tail")
    if tail is None:
        return None
    group_version = f"{info['group']}/{info['version']}" if "group" in info else "v1"
    try:
        return paths.parse(group_version, tail)
    except (StatusError, errors.APIError, web.HTTPException):
        return None


@web.middleware
async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware: times and counts every request."""
    found = request_series(request, _target(request))
    started = found.start()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as err:
        status = err.status
        raise
    finally:
        found.finish_http(status, started)


@web.middleware
async def mark_calls(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Tag the gRPC calls made for this request: the gateway counts it."""
    token = call_metadata.set((*call_metadata.get(), GATEWAY_MARK))
    try:
        return await handler(request)
    finally:
        call_metadata.reset(token)


async def serve_metrics(request: web.Request, access: AccessCheck) -> web.Response:
    """``GET /metrics``: the registry, to callers allowed ``get`` on it."""
    attrs = Attributes(_NOBODY, "get", path=METRICS_PATH, resource_request=False)
    answer = await access._review(attrs)
    if not answer.allowed:
        who = Attributes(
            auth.UserInfo(answer.user), "get", path=METRICS_PATH, resource_request=False
        )
        raise forbidden(who, answer.reason)
    body = metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})
