"""Start and stop the dashboard: an aiohttp application over a client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from shoal.client import Client
from shoal.plugins.dashboard import access, actions, live, pages
from shoal.plugins.dashboard.errors import refusals
from shoal.plugins.gateway.runner import split_listen

log = structlog.get_logger("dashboard")
STATIC = Path(__file__).parent / "static"


def build_app(client: Client, authenticator: Any = None) -> web.Application:
    middlewares = [refusals, access.authentication(authenticator)]
    app = web.Application(middlewares=middlewares, client_max_size=64 * 1024)
    app[pages.CLIENT_KEY] = client
    app[access.SECURE_KEY] = authenticator is not None
    if authenticator is not None:
        app[access.AUTHENTICATOR_KEY] = authenticator
    app.router.add_get("/", pages.index)
    app.router.add_get("/object", pages.detail)
    app.router.add_get("/login", access.login_form)
    app.router.add_post("/login", access.login)
    app.router.add_post("/logout", access.logout)
    app.router.add_get("/watch", live.watch)
    app.router.add_get("/logs", live.logs)
    app.router.add_post("/actions/{action}", actions.act)
    app.router.add_static("/static/", STATIC)
    return app


class Dashboard:
    """The dashboard over ``client``. With ``authenticator`` (a secure
    cluster) every request needs a bearer token (login form, kept in an
    HttpOnly cookie) and runs as its user; ``ssl_context`` serves HTTPS."""

    def __init__(self, client: Client, *, ssl_context: Any = None, authenticator: Any = None):
        self.client = client
        self.ssl_context = ssl_context
        self.authenticator = authenticator
        self.host = ""
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{self.port}"

    async def start(self, listen: str = "127.0.0.1:0") -> int:
        host, port = split_listen(listen)
        runner = web.AppRunner(
            build_app(self.client, self.authenticator),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=self.ssl_context)
        await site.start()
        self._runner = runner
        self.host, self.port = host, runner.addresses[0][1]
        log.info("dashboard serving", url=self.url)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
