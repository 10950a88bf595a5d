"""The dashboard in a real Chromium, asserting what a person sees: nodes,
the pod list updating live as pods come, scaling from the UI, a pod's log,
deleting after a confirmation, sorting and filtering."""

from __future__ import annotations

from typing import Any

from tests.dashboard.conftest import DashboardCluster
from tests.dashboard.objects import deployment, pod
from tests.integration.helpers import eventually
from tests.requirements import require_module

# Chromium's driver; without it the module skips, or fails in CI (tests.requirements)
expect = require_module("playwright.async_api").expect

WAIT = 20_000  # ms: how long the page may take to show a change


def row(page: Any, table: str, name: str) -> Any:
    return page.locator(f'table[data-kind="{table}"] tbody tr', has_text=name)


async def test_overview_shows_nodes_ready_with_capacity(
    dashboard_cluster: DashboardCluster, page: Any
) -> None:
    await page.goto(dashboard_cluster.url + "/")
    for node in dashboard_cluster.cluster.nodes:
        shown = row(page, "nodes", node)
        await expect(shown).to_contain_text("Ready", timeout=WAIT)
        await expect(shown).to_contain_text("8Gi")


async def test_pod_list_updates_live_when_a_pod_is_created(
    dashboard_cluster: DashboardCluster, page: Any
) -> None:
    watches: list[str] = []
    page.on("request", lambda r: watches.append(r.url) if "/watch?" in r.url else None)
    await page.goto(dashboard_cluster.url + "/?view=workloads&ns=default")
    await expect(page.locator('table[data-kind="pods"]')).to_be_visible()
    await expect(row(page, "pods", "live-one")).to_have_count(0)
    # one stream for all the page's tables: a browser opens six connections a host at most
    await eventually(lambda: watches, timeout=10)
    assert len(watches) == 1 and "table=pods%40" in watches[0], watches
    loads = []
    page.on("load", lambda _: loads.append(1))
    await dashboard_cluster.cluster.client.create(pod("live-one"))
    await expect(row(page, "pods", "live-one")).to_contain_text("Running", timeout=WAIT)
    assert loads == []  # the row came from the watch, not from loading the page again
    await dashboard_cluster.cluster.client.delete("Pod", "live-one", "default")
    await expect(row(page, "pods", "live-one")).to_have_count(0, timeout=WAIT)


async def test_scaling_from_the_ui_changes_the_deployments_replicas(
    dashboard_cluster: DashboardCluster, page: Any
) -> None:
    client = dashboard_cluster.cluster.client
    await client.create(deployment("web", 1))
    await page.goto(dashboard_cluster.url + "/object?kind=deployments.apps&ns=default&name=web")
    await page.fill("#replicas", "3")
    await page.click("#scale")
    await expect(page.locator("#message")).to_have_text("scaled Deployment web to 3 replicas")

    async def three() -> bool:
        return (await client.get("Deployment", "web", "default")).spec.replicas == 3

    await eventually(three, timeout=10)
    await page.goto(dashboard_cluster.url + "/?view=workloads&ns=default")
    await expect(row(page, "deployments.apps", "web")).to_contain_text("3/3", timeout=WAIT)


async def test_logs_of_a_pod_appear_and_follow(
    dashboard_cluster: DashboardCluster, page: Any
) -> None:
    client = dashboard_cluster.cluster.client
    await client.create(pod("talker", **{"fake.shoal.io/log-every": "0.2"}))
    await page.goto(dashboard_cluster.url + "/object?kind=pods&ns=default&name=talker")
    await expect(page.locator("#logs")).to_contain_text("tick 1", timeout=WAIT)
    await expect(page.locator("#logs")).to_contain_text("tick 3", timeout=WAIT)  # it follows


async def test_delete_asks_first_then_deletes(
    dashboard_cluster: DashboardCluster, page: Any
) -> None:
    client = dashboard_cluster.cluster.client
    await client.create(pod("doomed"))
    await page.goto(dashboard_cluster.url + "/object?kind=pods&ns=default&name=doomed")
    asked: list[str] = []

    async def decline(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", decline)
    await page.click("#delete")
    await eventually(lambda: asked, timeout=10)
    assert "Delete pods doomed?" in asked[0]
    assert (await client.get("Pod", "doomed", "default")).metadata.name == "doomed"

    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#delete")
    await expect(page.locator("#message")).to_have_text("deleted Pod doomed")


async def test_tables_filter_and_sort(dashboard_cluster: DashboardCluster, page: Any) -> None:
    client = dashboard_cluster.cluster.client
    for name in ("bravo", "alpha", "charlie"):
        await client.create(pod(name))
    await page.goto(dashboard_cluster.url + "/?view=workloads&ns=default")
    pods = page.locator('table[data-kind="pods"] tbody tr')
    await expect(pods).to_have_count(3, timeout=WAIT)
    await page.click('table[data-kind="pods"] th:first-child')
    await expect(pods.locator("td:first-child")).to_have_text(["alpha", "bravo", "charlie"])
    await page.click('table[data-kind="pods"] th:first-child')
    await expect(pods.locator("td:first-child")).to_have_text(["charlie", "bravo", "alpha"])
    await page.fill("#filter", "brav")
    await expect(page.locator('table[data-kind="pods"] tbody tr:visible')).to_have_count(1)
    await expect(row(page, "pods", "alpha")).to_be_hidden()


async def test_restart_asks_then_restarts_the_rollout(
    dashboard_cluster: DashboardCluster, page: Any
) -> None:
    client = dashboard_cluster.cluster.client
    await client.create(deployment("api", 1))
    await page.goto(dashboard_cluster.url + "/object?kind=deployments.apps&ns=default&name=api")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#restart")
    await expect(page.locator("#message")).to_have_text("restarted Deployment api")
    got = await client.get("Deployment", "api", "default")
    assert "kubectl.kubernetes.io/restartedAt" in got.spec.template.metadata.annotations


async def test_the_namespace_switcher_shows_another_namespace(
    dashboard_cluster: DashboardCluster, page: Any
) -> None:
    from shoal import manifest

    client = dashboard_cluster.cluster.client
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}
    await client.create(manifest.from_dict(namespace))
    await client.create(pod("elsewhere", namespace="other"))
    await client.create(pod("local-pod"))
    await page.goto(dashboard_cluster.url + "/?view=workloads&ns=default")
    await expect(row(page, "pods", "local-pod")).to_have_count(1)
    await expect(row(page, "pods", "elsewhere")).to_have_count(0)
    await page.select_option("#namespace", "other")
    await expect(row(page, "pods", "elsewhere")).to_have_count(1, timeout=WAIT)
    await expect(row(page, "pods", "local-pod")).to_have_count(0)
    await page.select_option("#namespace", "_all")
    await expect(page.locator('table[data-kind="pods"] th').first).to_have_text("NAMESPACE")
    await expect(row(page, "pods", "elsewhere")).to_contain_text("other", timeout=WAIT)
    await expect(row(page, "pods", "local-pod")).to_have_count(1)
