"""``shoal get``/``describe``/``events``/``api-resources``/``get cs`` against a real server."""

from __future__ import annotations

import asyncio
import json
import time

from google.protobuf.timestamp_pb2 import Timestamp
from shoal import kinds
from shoal.client import Client

from tests.ctl.conftest import Shoal, ages
from tests.integration.helpers import obj, pod


async def test_get_pods_golden_table(shoal: Shoal, shoal_client: Client) -> None:
    await shoal_client.create(pod("web", labels={"app": "web"}))
    await shoal_client.create(pod("db", labels={"app": "db"}))
    result = await shoal("get", "pods")
    assert result.code == 0, result.err
    assert ages(result.out) == (
        "NAME   READY   STATUS    RESTARTS   AGE\n"
        "db     0/1     Pending   0          Xs\n"
        "web    0/1     Pending   0          Xs\n"
    )
    labelled = await shoal("get", "po", "-l", "app in (web)", "--show-labels")
    assert ages(labelled.out).splitlines() == [
        "NAME   READY   STATUS    RESTARTS   AGE   LABELS",
        "web    0/1     Pending   0          Xs    app=web",
    ]


async def test_get_status_from_container_state(shoal: Shoal, shoal_client: Client) -> None:
    created = await shoal_client.create(pod("crashy"))
    created.status.phase = "Running"
    status = created.status.container_statuses.add(name="main", restart_count=3)
    status.state.waiting.reason = "CrashLoopBackOff"
    await shoal_client.update_status(created)
    result = await shoal("get", "pod/crashy", "--no-headers")
    assert result.out.split()[:4] == ["crashy", "0/1", "CrashLoopBackOff", "3"]


async def test_get_deployments_services_all_namespaces(shoal: Shoal, shoal_client: Client) -> None:
    await shoal_client.create(
        obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    )
    await shoal_client.create(
        obj(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "other"},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                    },
                },
            }
        )
    )
    result = await shoal("get", "deploy", "-A", "-o", "wide")
    assert ages(result.out).splitlines() == [
        "NAMESPACE   NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES   SELECTOR",
        "other       web    0/2     0            0           Xs    web          nginx    app=web",
    ]
    nodes = await shoal("get", "ns", "-A")
    assert nodes.out.startswith("NAME ")  # cluster kinds have no NAMESPACE column


async def test_get_errors_like_kubectl(shoal: Shoal) -> None:
    missing = await shoal("get", "pods", "web")
    assert missing.code == 1
    assert missing.err.strip() == 'Error from server (NotFound): pods "web" not found'
    unknown = await shoal("get", "podz")
    assert (unknown.code, unknown.err.strip()) == (
        1,
        'error: the server doesn\'t have a resource type "podz"',
    )
    empty = await shoal("get", "pods")
    assert (empty.code, empty.err.strip()) == (0, "No resources found in default namespace.")
    quiet = await shoal("get", "pods", "web", "--ignore-not-found")
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
    bad = await shoal("get", "pods", "-o", "xml")
    assert bad.code != 0 and "unable to match a printer" in bad.err
    assert "Traceback" not in bad.err + unknown.err


async def test_get_output_formats(shoal: Shoal, shoal_client: Client) -> None:
    for name in ("b", "a", "c"):
        await shoal_client.create(pod(name))
    names = await shoal("get", "pods", "-o", "name")
    assert names.out == "pod/a\npod/b\npod/c\n"
    as_json = json.loads((await shoal("get", "pod", "a", "-o", "json")).out)
    assert as_json["kind"] == "Pod" and as_json["metadata"]["name"] == "a"
    listed = json.loads((await shoal("get", "pods", "-o", "json")).out)
    assert listed["kind"] == "List" and len(listed["items"]) == 3
    path = await shoal("get", "pods", "-o", "jsonpath={.items[*].metadata.name}")
    assert path.out.strip() == "a b c"
    tmpl = await shoal(
        "get", "pods", "-o", "go-template={{range .items}}{{.metadata.name}},{{end}}"
    )
    assert tmpl.out.strip() == "a,b,c,"
    cols = await shoal(
        "get", "pods", "-o", "custom-columns=N:.metadata.name,IMG:.spec.containers[*].image"
    )
    assert cols.out.splitlines()[:2] == ["N   IMG", "a   busybox:1.36"]
    newest = await shoal("get", "pods", "--sort-by=.metadata.resourceVersion", "-o", "name")
    assert newest.out.split() == ["pod/b", "pod/a", "pod/c"]


async def test_get_watch_prints_changes(shoal: Shoal, shoal_client: Client) -> None:
    await shoal_client.create(pod("first"))
    watching = asyncio.ensure_future(shoal("get", "pods", "-w", "--request-timeout", "1.5"))
    await asyncio.sleep(0)  # the watch starts from the listed version: no race with the create
    await shoal_client.create(pod("second"))
    result = await watching
    lines = [line.split()[0] for line in result.out.splitlines()]
    assert lines[:2] == ["NAME", "first"] and "second" in lines


async def test_describe_shows_fields_and_events(shoal: Shoal, shoal_client: Client) -> None:
    await shoal_client.create(pod("web", labels={"app": "web"}))
    await shoal_client.create(
        obj(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "web.1"},
                "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
                "reason": "Scheduled",
                "message": "assigned to node-1",
                "type": "Normal",
                "source": {"component": "scheduler"},
            }
        )
    )
    result = await shoal("describe", "pod", "web")
    assert result.code == 0, result.err
    assert "Name:         web" in result.out and "Labels:       app=web" in result.out
    assert "Status:       Pending" in result.out and "image:  busybox:1.36" in result.out
    events = result.out.split("Events:")[1]
    assert "Scheduled" in events and "scheduler" in events and "assigned to node-1" in events
    listed = await shoal("events")
    assert listed.out.split()[:5] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT"]
    assert "pod/web" in listed.out
    missing = await shoal("describe", "pod", "nope")
    assert missing.err.strip() == 'Error from server (NotFound): pods "nope" not found'


async def test_api_resources_and_cluster_info(shoal: Shoal) -> None:
    resources = await shoal("api-resources")
    rows = [line.split() for line in resources.out.splitlines()]
    assert ["pods", "po", "v1", "true", "Pod"] in rows
    assert ["roles", "rbac.authorization.k8s.io/v1", "true", "Role"] in rows
    names = await shoal("api-resources", "--namespaced=false", "-o", "name")
    listed = names.out.split()
    assert listed == sorted(k.resource for k in kinds.all_kinds() if not k.namespaced)
    assert {
        "clusterrolebindings.rbac.authorization.k8s.io",
        "clusterroles.rbac.authorization.k8s.io",
        "namespaces",
        "nodes",
        "persistentvolumes",
        "storageclasses.storage.k8s.io",
    } <= set(listed)
    info = await shoal("cluster-info")
    assert info.out.startswith("shoal control plane is running at 127.0.0.1:")


async def test_component_statuses_from_store_and_leases(shoal: Shoal, shoal_client: Client) -> None:
    result = await shoal("get", "cs")
    assert result.code == 1
    rows = {line.split()[0]: line.split()[1] for line in result.out.splitlines()[1:]}
    assert rows == {"store": "Healthy", "scheduler": "Unhealthy", "controller-manager": "Unhealthy"}
    assert "no lease shoal-system/shoal-scheduler" in result.out
    now = Timestamp()
    now.FromSeconds(int(time.time()))
    for name, renewed in (
        ("shoal-scheduler", now.ToJsonString()),
        ("shoal-controller-manager", "2020-01-01T00:00:00Z"),
    ):
        await shoal_client.create(
            obj(
                {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": name, "namespace": "shoal-system"},
                    "spec": {
                        "holderIdentity": "me",
                        "leaseDurationSeconds": 15,
                        "renewTime": renewed,
                    },
                }
            )
        )
    result = await shoal("get", "componentstatuses")
    rows = {line.split()[0]: line.split()[1] for line in result.out.splitlines()[1:]}
    assert rows["scheduler"] == "Healthy" and rows["controller-manager"] == "Unhealthy"
    assert "not renewed for" in result.out


async def test_managed_fields_are_hidden_unless_asked(shoal: Shoal, shoal_client: Client) -> None:
    """As kubectl (--show-managed-fields=false by default since 1.21)."""
    await shoal_client.create(pod("web"))
    assert (await shoal_client.get("pod", "web")).metadata.managed_fields
    plain = json.loads((await shoal("get", "pod", "web", "-o", "json")).out)
    assert "managedFields" not in plain["metadata"] and plain["metadata"]["name"] == "web"
    listed = json.loads((await shoal("get", "pods", "-o", "json")).out)
    assert all("managedFields" not in item["metadata"] for item in listed["items"])
    shown = json.loads(
        (await shoal("get", "pod", "web", "-o", "json", "--show-managed-fields")).out
    )
    assert shown["metadata"]["managedFields"][0]["operation"] == "Update"
