"""Bad input on the dashboard's own endpoints: a 400 (or the API's own
code) with a clear message, never a traceback, and nothing changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from shoal.client import Client
from shoal.plugins.dashboard import Dashboard
from shoal.testing import start_server

from tests.dashboard.objects import deployment


@pytest_asyncio.fixture
async def bare(tmp_path: Path) -> AsyncIterator[tuple[str, Client]]:
    """The dashboard over a bare API server (no controllers, no nodes)."""
    server = await start_server(tmp_path)
    client = Client(f"127.0.0.1:{server.port}")
    dashboard = Dashboard(client)
    await dashboard.start("127.0.0.1:0")
    try:
        yield dashboard.url, client
    finally:
        await dashboard.stop()
        await client.close()
        await server.stop(grace=0)


async def _call(
    url: str, method: str, path: str, body: Any = None, raw: bytes = b"", page: bool = True
) -> Any:
    data = raw or None
    headers = {"X-Shoal-Dashboard": "1"} if page else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url + path, json=body, data=data, headers=headers) as answer,
    ):
        text = await answer.text()
        assert "Traceback" not in text
        return answer.status, (await answer.json()) if answer.content_type.endswith(
            "json"
        ) else text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/?view=nope", '"nope" is not one of overview'),
        ("/?ns=Bad_NS", '"Bad_NS" is not a namespace name'),
        ("/object?kind=widgets&name=x", 'kind "widgets" is not served'),
        ("/object?kind=pods", "name: the object's name is required"),
        ("/watch?table=pods@abc", '"abc" is not a resource version'),
        ("/watch?table=@1", 'kind "" is not served'),
        ("/watch?ns=default", "table: 1 to 20 of KIND@RESOURCEVERSION"),
        ("/logs?ns=default", "pod: the pod's name is required"),
    ],
)
async def test_bad_pages_and_streams_are_400(
    bare: tuple[str, Client], path: str, message: str
) -> None:
    code, body = await _call(bare[0], "GET", path)
    assert code == 400 and message in body["error"]


@pytest.mark.parametrize(
    ("action", "body", "message"),
    [
        ("explode", {"kind": "pods", "name": "x"}, '"explode" is not an action'),
        ("scale", {"kind": "deployments", "name": "web"}, "replicas: a whole number"),
        ("scale", {"kind": "deployments", "name": "web", "replicas": "3"}, "a whole number"),
        ("scale", {"kind": "deployments", "name": "web", "replicas": True}, "a whole number"),
        ("scale", {"kind": "deployments", "name": "web", "replicas": -1}, "between 0 and"),
        ("scale", {"kind": "configmaps", "name": "c", "replicas": 1}, "cannot be scaled"),
        ("delete", {"kind": "pods"}, "name: a string is required"),
        ("delete", {"kind": 7, "name": "x"}, "kind: a string is required"),
        ("delete", ["pods"], "the body must be a JSON object"),
    ],
)
async def test_bad_actions_are_400_and_change_nothing(
    bare: tuple[str, Client], action: str, body: Any, message: str
) -> None:
    url, client = bare
    await client.create(deployment("web", 2))
    code, answer = await _call(url, "POST", f"/actions/{action}", body)
    assert code == 400 and message in answer["error"], answer
    assert (await client.get("Deployment", "web", "default")).spec.replicas == 2


async def test_a_body_that_is_not_json_is_400(bare: tuple[str, Client]) -> None:
    code, answer = await _call(bare[0], "POST", "/actions/delete", raw=b"{nope")
    assert code == 400 and answer["error"] == "the body must be a JSON object"


async def test_a_missing_object_is_404(bare: tuple[str, Client]) -> None:
    code, answer = await _call(bare[0], "GET", "/object?kind=pods&ns=default&name=ghost")
    assert code == 404 and 'pods "ghost" not found' in answer["error"]
    body = {"kind": "pods", "name": "ghost", "namespace": "default"}
    code, answer = await _call(bare[0], "POST", "/actions/delete", body)
    assert code == 404


async def test_restart_of_a_kind_without_a_template_is_400(bare: tuple[str, Client]) -> None:
    from tests.dashboard.objects import pod

    url, client = bare
    await client.create(pod("plain"))
    body = {"kind": "pods", "name": "plain", "namespace": "default"}
    code, answer = await _call(url, "POST", "/actions/restart", body)
    assert code == 400 and "has no pod template to restart" in answer["error"]


async def test_an_action_without_the_pages_header_is_403(bare: tuple[str, Client]) -> None:
    """Another site's form (text/plain, no custom header) cannot act."""
    url, client = bare
    await client.create(deployment("web", 2))
    body = {"kind": "deployments", "name": "web", "namespace": "default"}
    code, answer = await _call(url, "POST", "/actions/delete", body, page=False)
    assert code == 403 and "X-Shoal-Dashboard" in answer["error"]
    assert (await client.get("Deployment", "web", "default")).spec.replicas == 2
