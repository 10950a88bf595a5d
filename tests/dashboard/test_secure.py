"""The dashboard of a secure cluster acts as the signed-in user: a bearer
token from the login form, every call impersonating its user, so what RBAC
forbids is not shown or not offered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio
from shoal.plugins.dashboard import Dashboard
from shoal.plugins.dashboard.plugin import secure_dashboard

from tests.dashboard.objects import deployment, pod
from tests.requirements import require_module
from tests.security.authz_helpers import binding, until_allowed
from tests.security.conftest import SecureServer, secure_server  # noqa: F401 - fixture

# Chromium's driver; without it the module skips, or fails in CI (tests.requirements)
expect = require_module("playwright.async_api").expect

VIEWER = "system:serviceaccount:default:viewer"
EDITOR = "system:serviceaccount:default:editor"


@pytest_asyncio.fixture
async def secure_dashboard_url(secure_server: SecureServer) -> AsyncIterator[str]:  # noqa: F811
    dashboard: Dashboard = secure_dashboard(secure_server.address, secure_server.security)
    await dashboard.start("127.0.0.1:0")
    try:
        yield dashboard.url
    finally:
        await dashboard.stop()
        await dashboard.client.close()


async def _sign_in(page: Any, url: str, token: str) -> None:
    await page.goto(url + "/")
    await expect(page.locator("#sign-in")).to_be_visible()  # no token: the login form
    await page.fill("#token", token)
    await page.click("#sign-in")


async def test_a_viewer_sees_objects_but_is_not_offered_delete_or_scale(
    secure_server: SecureServer,  # noqa: F811
    secure_dashboard_url: str,
    page: Any,
) -> None:
    admin = secure_server.admin
    await admin.create(binding("viewer", "view", user=VIEWER, namespace="default"))
    await admin.create(binding("editor", "edit", user=EDITOR, namespace="default"))
    viewer_client = secure_server.client(
        token=secure_server.security.service_accounts.issue("default", "viewer", 600)
    )
    await until_allowed(viewer_client, "list", "pods", "default")
    await viewer_client.close()
    await admin.create(pod("guarded"))
    await admin.create(deployment("web", 1))

    viewer = secure_server.security.service_accounts.issue("default", "viewer", 600)
    await _sign_in(page, secure_dashboard_url, viewer)
    await page.goto(secure_dashboard_url + "/?view=workloads&ns=default")
    await expect(page.locator('table[data-kind="pods"] tbody tr')).to_contain_text("guarded")
    await expect(page.locator("header .who")).to_contain_text(VIEWER)
    await admin.create(pod("newcomer"))  # the viewer's watch (as the viewer) shows it live
    await expect(
        page.locator('table[data-kind="pods"] tbody tr', has_text="newcomer")
    ).to_have_count(1)
    # nodes are cluster-scoped: a namespace viewer may not list them
    await page.goto(secure_dashboard_url + "/?view=overview&ns=default")
    await expect(page.locator('section[data-kind="nodes"] .forbidden')).to_be_visible()

    await page.goto(secure_dashboard_url + "/object?kind=pods&ns=default&name=guarded")
    await expect(page.locator("#yaml")).to_contain_text("name: guarded")
    await expect(page.locator("#delete")).to_have_count(0)
    await page.goto(secure_dashboard_url + "/object?kind=deployments&ns=default&name=web")
    await expect(page.locator("#yaml")).to_contain_text("name: web")
    await expect(page.locator("#scale")).to_have_count(0)
    await expect(page.locator("#restart")).to_have_count(0)


async def test_an_editor_is_offered_delete_and_it_runs_as_them(
    secure_server: SecureServer,  # noqa: F811
    secure_dashboard_url: str,
    page: Any,
) -> None:
    admin = secure_server.admin
    await admin.create(binding("editor", "edit", user=EDITOR, namespace="default"))
    token = secure_server.security.service_accounts.issue("default", "editor", 600)
    editor_client = secure_server.client(token=token)
    await until_allowed(editor_client, "delete", "pods", "default")
    await editor_client.close()
    await admin.create(pod("doomed"))
    await _sign_in(page, secure_dashboard_url, token)
    await page.goto(secure_dashboard_url + "/object?kind=pods&ns=default&name=doomed")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#delete")
    await expect(page.locator("#message")).to_have_text("deleted Pod doomed")


async def test_without_a_token_nothing_is_shown_or_done(
    secure_server: SecureServer,  # noqa: F811
    secure_dashboard_url: str,
    page: Any,
) -> None:
    await page.goto(secure_dashboard_url + "/?view=workloads")
    await expect(page).to_have_url(secure_dashboard_url + "/login")
    await page.fill("#token", "not.a.token")
    await page.click("#sign-in")
    await expect(page.locator("#login-error")).to_contain_text("that token was refused")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            secure_dashboard_url + "/actions/delete",
            json={"kind": "pods", "name": "x", "namespace": "default"},
            headers={"X-Shoal-Dashboard": "1"},
            ssl=False,
        ) as answer,
    ):
        assert answer.status == 401
        assert "sign in first" in (await answer.json())["error"]
