"""The aiohttp application: routes Kubernetes paths to the verbs, and turns
every error into a Kubernetes ``Status`` with its HTTP code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from shoal import errors
from shoal.apiserver.fairness import FairQueues, RequestLimits
from shoal.client import Client
from shoal.plugins.gateway import (
    accessreview,
    componentstatus,
    discovery,
    history,
    openapi,
    paths,
    resourcemetrics,
    simulate,
)
from shoal.plugins.gateway.access import AccessCheck
from shoal.plugins.gateway.authn import impersonation_headers
from shoal.plugins.gateway.bodies import respond
from shoal.plugins.gateway.connect import CONNECT
from shoal.plugins.gateway.fairness import fairness
from shoal.plugins.gateway.metrics import METRICS_PATH, count, mark_calls, serve_metrics
from shoal.plugins.gateway.objects import Objects
from shoal.plugins.gateway.podproxy import PodProxy
from shoal.plugins.gateway.podstreams import PodStreams
from shoal.plugins.gateway.scale import Scales
from shoal.plugins.gateway.status import StatusError, from_api_error, not_found, response, status
from shoal.plugins.gateway.watch import Watches, is_watch

log = structlog.get_logger("gateway")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HTTP_REASONS = {404: "NotFound", 405: "MethodNotAllowed", 413: "RequestEntityTooLarge"}
CLIENT_KEY = web.AppKey("client", Client)
TARGET_KEY = web.RequestKey("target", paths.Target)


@web.middleware
async def status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except StatusError as err:
        return response(err.body)
    except errors.APIError as err:
        _qualify(err, request.get(TARGET_KEY))
        return response(from_api_error(err, _details(request)))
    except web.HTTPException as err:
        if err.status < 400:
            raise
        reason = HTTP_REASONS.get(err.status, "BadRequest")
        message = (
            "the server could not find the requested resource" if err.status == 404 else err.reason
        )
        if err.status == 413:
            message = f"the request body is too large: {err.text}"
        return response(status(reason, message, code=err.status))
    except Exception as err:  # a bug must still answer as Kubernetes would, and be logged
        log.exception("request failed", path=request.path, method=request.method)
        return response(status("InternalError", f"an error on the server: {err}"))


def _qualify(err: errors.APIError, target: paths.Target | None) -> None:
    """``deployments "web" not found`` -> ``deployments.apps "web" not found``,
    as Kubernetes names a resource of a named group."""
    if target is None or not target.kind.group:
        return
    plural = target.kind.plural
    qualified = f"{plural}.{target.kind.group}"
    for before in (f'{plural} "', f'on {plural} "'):
        if before in err.message and qualified not in err.message:
            err.message = err.message.replace(before, before.replace(plural, qualified), 1)
            return


def _details(request: web.Request) -> dict[str, Any]:
    target = request.get(TARGET_KEY)
    if target is None:
        return {}
    details = {"kind": target.kind.plural}
    if target.kind.group:
        details["group"] = target.kind.group
    if target.name:
        details["name"] = target.name
    return details


class Router:
    """Finds the verb for a request on a resource path."""

    def __init__(self, client: Client) -> None:
        self.access = AccessCheck(client)
        self.objects = Objects(client)
        self.watches = Watches(client)
        self.scales = Scales(client)
        self.streams = PodStreams(client)
        self.proxy = PodProxy(client)

    async def core(self, request: web.Request) -> web.StreamResponse:
        return await self.route(request, "v1", request.match_info["tail"])

    async def grouped(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        return await self.route(request, f"{info['group']}/{info['version']}", info["tail"])

    async def route(
        self, request: web.Request, group_version: str, tail: str
    ) -> web.StreamResponse:
        target = paths.parse(group_version, tail)
        request[TARGET_KEY] = target
        if target.kind.namespaced and target.name and not target.namespace:
            raise not_found()
        verb = self._verb(request.method, target, is_watch(request))
        await self.access.require(request)  # before the body is read
        return await verb(request, target)

    def _verb(self, method: str, target: paths.Target, watch: bool) -> Any:
        sub = target.subresource
        table = self._subresource_verbs(target) if sub else self._object_verbs(target, watch)
        verb = table.get(method)
        if verb is None:
            raise StatusError(
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        return verb

    def _object_verbs(self, target: paths.Target, watch: bool) -> dict[str, Any]:
        o = self.objects
        if not target.name:
            get = self.watches.watch if watch else o.list
            return {"GET": get, "POST": o.create, "DELETE": o.delete_collection}
        get = self.watches.watch if watch else o.get
        return {"GET": get, "PUT": o.update, "PATCH": o.patch, "DELETE": o.delete}

    def _subresource_verbs(self, target: paths.Target) -> dict[str, Any]:
        o, sub = self.objects, target.subresource
        if sub == "status" and target.kind.has_status:
            return {"GET": o.get, "PUT": o.update, "PATCH": o.patch}
        if sub == "scale" and target.kind.strategy.scale is not None:
            sc = self.scales
            return {"GET": sc.get, "PUT": sc.update, "PATCH": sc.patch}
        connect = CONNECT.get(sub or "")
        if connect is not None and sub in target.kind.strategy.connect_subresources:
            return dict.fromkeys(connect.methods, connect.handler(self))
        if paths.subresource_kind(target.kind, sub) is not None:
            return {"POST": o.create_subresource}  # pods/binding, pods/eviction
        raise not_found()


def build_app(
    client: Client, authenticate: Any = None, limits: RequestLimits | None = None
) -> web.Application:
    """The gateway over ``client``; the caller owns (and closes) the client.
    ``authenticate``: a middleware that establishes the caller (authn.py);
    ``limits``: the body cap, and per-user fairness for authenticated callers."""
    limits = limits or RequestLimits()
    middlewares: list[Any] = [count, impersonation_headers, mark_calls, status_errors]
    if authenticate:  # first: impersonation is the authenticated caller's to ask
        fair = [fairness(FairQueues(limits))] if limits.enabled else []
        middlewares = [
            count,  # outermost: every request, a 401 too, is counted once
            authenticate,
            impersonation_headers,
            *fair,
            mark_calls,
            status_errors,
        ]
    app = web.Application(middlewares=middlewares, client_max_size=limits.max_request_bytes)
    app[CLIENT_KEY] = client
    router = Router(client)
    app.router.add_get("/version", _version)
    app.router.add_get("/healthz", _ok)
    app.router.add_get("/livez", _ok)
    app.router.add_get("/readyz", _ok)

    async def scrape(request: web.Request) -> web.Response:
        return await serve_metrics(request, router.access)

    app.router.add_get(METRICS_PATH, scrape)
    app.router.add_get("/api", _api)
    app.router.add_get("/api/v1", _core_resources)
    app.router.add_get("/apis", _apis)
    app.router.add_get("/apis/{group}", _group)
    app.router.add_get("/apis/{group}/{version}", _group_resources)
    openapi.add_routes(app)
    accessreview.add_routes(app, client)
    componentstatus.add_routes(app, client)
    history.add_routes(app, client)
    resourcemetrics.add_routes(app, client)
    simulate.add_routes(app, client)
    app.router.add_route("*", "/api/v1/{tail:.+}", router.core)
    app.router.add_route("*", "/apis/{group}/{version}/{tail:.+}", router.grouped)
    return app


async def _version(request: web.Request) -> web.Response:
    info = await request.app[CLIENT_KEY].version()
    return respond(discovery.version_info(info.git_commit))


async def _ok(request: web.Request) -> web.Response:
    await request.app[CLIENT_KEY].version()  # healthy only when the API answers
    return web.Response(text="ok")


async def _api(request: web.Request) -> web.Response:
    return respond(discovery.api_versions(request.host))


async def _apis(request: web.Request) -> web.Response:
    return respond(discovery.api_groups())


async def _group(request: web.Request) -> web.Response:
    found = discovery.api_group(request.match_info["group"])
    if found is None:
        raise not_found()
    return respond(found)


async def _core_resources(request: web.Request) -> web.Response:
    return respond(discovery.resource_list("v1"))


async def _group_resources(request: web.Request) -> web.Response:
    info = request.match_info
    found = discovery.resource_list(f"{info['group']}/{info['version']}")
    if found is None:
        raise not_found()
    return respond(found)
