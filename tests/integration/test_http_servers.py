"""HTTP servers contributed by plugins (``register_http_servers``): ``shoal
server`` makes the ones asked for with their context, starts them once it
serves and stops them with it; the gateway is one of them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from click.testing import CliRunner
from shoal import hookimpl, log
from shoal import plugin_manager as pmod
from shoal.apiserver import httpservers
from shoal.apiserver.server import serve
from shoal.contracts import HTTPServer, HTTPServerContext
from shoal.ctl.server import server_command

from tests.integration.helpers import eventually


class NamespacesServer:
    """A third-party HTTP server: answers with the namespaces it reads
    through the client the API server gave it."""

    made: list[NamespacesServer] = []

    def __init__(self, context: HTTPServerContext) -> None:
        self.context = context
        self.url = ""
        self.started = self.stopped = False
        self.api_answered_at_stop = False
        self._runner: web.AppRunner | None = None
        NamespacesServer.made.append(self)

    async def _namespaces(self, request: web.Request) -> web.Response:
        listed = await self.context.client.list("namespaces")
        return web.Response(text=",".join(sorted(n.metadata.name for n in listed.items)))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._namespaces)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        host, port = self.context.listen.rsplit(":", 1)
        await web.TCPSite(self._runner, host, int(port)).start()
        self.url = f"http://{host}:{self._runner.addresses[0][1]}"
        self.started = True

    async def stop(self) -> None:
        # Stopped before the API server: the client still gets answers.
        self.api_answered_at_stop = bool(await self.context.client.list("namespaces"))
        assert self._runner is not None
        await self._runner.cleanup()
        self.stopped = True


class ThirdParty:
    @hookimpl
    def register_http_servers(self, registry: Any) -> None:
        registry.register("namespaces", NamespacesServer)


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[pmod.ShoalPluginManager]:
    """The process's plugin manager, built fresh, without this machine's
    entry points; ``serve`` changes the umask (private data), put back."""
    monkeypatch.setattr(pmod, "iter_entry_points", lambda: iter(()))
    monkeypatch.delenv("SHOAL_PLUGINS", raising=False)
    monkeypatch.delenv("SHOAL_DISABLE_PLUGINS", raising=False)
    pmod.reset_plugin_manager()
    umask = os.umask(0o022)
    os.umask(umask)
    NamespacesServer.made.clear()
    yield pmod.get_plugin_manager()
    os.umask(umask)
    pmod.reset_plugin_manager()


def test_the_gateway_is_a_builtin_plugin_offering_its_http_server(
    plugins: pmod.ShoalPluginManager,
) -> None:
    info = {i["name"]: i for i in pmod.plugin_info(plugins)}["gateway"]
    assert (info["status"], info["source"], info["hooks"]) == (
        "loaded",
        "builtin",
        ["register_http_servers"],
    )
    assert pmod.http_servers(plugins).owner(httpservers.GATEWAY) == "gateway"


async def test_a_plugins_http_server_starts_and_stops_with_the_api_server(
    plugins: pmod.ShoalPluginManager, tmp_path: Path
) -> None:
    plugins.register(ThirdParty(), name="third-party")
    stop = asyncio.Event()
    serving = asyncio.create_task(
        serve(
            tmp_path,
            "127.0.0.1:0",
            insecure=True,
            controllers="-",
            http_servers={"namespaces": "127.0.0.1:0"},
            stop=stop,
        )
    )
    try:
        await eventually(lambda: NamespacesServer.made and NamespacesServer.made[0].started, 30)
    except BaseException:
        stop.set()
        await serving
        raise
    (made,) = NamespacesServer.made
    assert isinstance(made, HTTPServer)
    assert made.context.listen == "127.0.0.1:0"
    assert made.context.admin_config == tmp_path / "admin.conf"
    assert made.context.admin_config.exists() and made.context.security is None
    async with aiohttp.ClientSession() as session, session.get(made.url) as answer:
        assert answer.status == 200
        assert "default" in (await answer.text()).split(",")
    assert not made.stopped
    stop.set()
    await asyncio.wait_for(serving, 30)
    assert made.stopped and made.api_answered_at_stop
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(made.url)


async def test_an_http_server_no_plugin_offers_is_refused_before_anything_starts(
    plugins: pmod.ShoalPluginManager, tmp_path: Path
) -> None:
    with pytest.raises(httpservers.HTTPServerError, match=r'"nobody".*offered: dashboard, gateway'):
        await serve(tmp_path / "data", "127.0.0.1:0", insecure=True, http_servers={"nobody": ":0"})
    assert not (tmp_path / "data").exists()


def test_http_listen_with_the_gateway_plugin_disabled_names_the_plugin(
    plugins: pmod.ShoalPluginManager, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOAL_DISABLE_PLUGINS", "gateway")
    pmod.reset_plugin_manager()
    monkeypatch.setattr(log, "configure", lambda *a, **k: None)  # leave the session's logging
    result = CliRunner().invoke(
        server_command,
        ["--data-dir", str(tmp_path / "data"), "--insecure", "--http-listen", "127.0.0.1:0"],
    )
    assert result.exit_code == 1, result.output
    assert 'HTTP server "gateway"' in result.output
    assert 'the plugin "gateway" is disabled' in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "data").exists()


def test_http_server_flag_is_checked(tmp_path: Path) -> None:
    for value in ("namespaces", "=127.0.0.1:0", "namespaces=nowhere"):
        result = CliRunner().invoke(
            server_command, ["--data-dir", str(tmp_path), "--http-server", value]
        )
        assert result.exit_code == 2 and "--http-server" in result.output, result.output


async def test_servers_started_are_stopped_when_a_later_one_fails() -> None:
    events: list[str] = []

    class Good:
        url = "http://127.0.0.1:1"

        def __init__(self, context: Any) -> None:
            pass

        async def start(self) -> None:
            events.append("good started")

        async def stop(self) -> None:
            events.append("good stopped")

    class Bad(Good):
        async def start(self) -> None:
            raise OSError("address in use")

    wanted = {"good": "127.0.0.1:0", "bad": "127.0.0.1:0"}
    made: dict[str, Any] = {"good": Good, "bad": Bad}
    with pytest.raises(OSError, match="address in use"):
        await httpservers.start(wanted, made, lambda listen: Any)
    assert events == ["good started", "good stopped"]
