"""The REST gateway over HTTP, as curl and client libraries use it: the
object verbs, discovery, tables, watch, subresources and Status errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.gateway.conftest import GatewayServer

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "main", "image": "nginx", "ports": [{"containerPort": 80}]}]},
}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "image": "nginx"}]},
        },
    },
}
PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


async def call(gw: GatewayServer, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    headers = kw.pop("headers", {})
    if not isinstance(body, (bytes, str)) and body is not None:
        headers.setdefault("Content-Type", "application/json")  # not aiohttp's text/plain
    async with gw.http.request(method, path, data=data, headers=headers, **kw) as response:
        payload = await response.json(content_type=None)
        return response.status, payload


async def test_version_and_discovery(gateway_server: GatewayServer) -> None:
    code, version = await call(gateway_server, "GET", "/version")
    assert code == 200 and version["major"] == "1" and "shoal" in version["gitVersion"]
    _, api = await call(gateway_server, "GET", "/api")
    assert api["versions"] == ["v1"]
    _, groups = await call(gateway_server, "GET", "/apis")
    names = {g["name"] for g in groups["groups"]}
    assert {"apps", "coordination.k8s.io"} <= names
    _, core = await call(gateway_server, "GET", "/api/v1")
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert pods["namespaced"] and pods["shortNames"] == ["po"] and "watch" in pods["verbs"]
    assert {"pods/log", "pods/exec", "pods/status", "pods/proxy"} <= {
        r["name"] for r in core["resources"]
    }
    _, apps = await call(gateway_server, "GET", "/apis/apps/v1")
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert scale["kind"] == "Scale" and scale["group"] == "autoscaling"
    code, _ = await call(gateway_server, "GET", "/apis/nope/v1")
    assert code == 404


async def test_create_get_list_delete(gateway_server: GatewayServer) -> None:
    code, created = await call(gateway_server, "POST", PODS, POD)
    assert code == 201 and created["metadata"]["uid"]
    code, got = await call(gateway_server, "GET", f"{PODS}/web")
    assert code == 200 and got["kind"] == "Pod" and got["spec"]["containers"][0]["image"] == "nginx"
    _, listed = await call(gateway_server, "GET", PODS, params={"labelSelector": "app=web"})
    assert listed["kind"] == "PodList" and [i["metadata"]["name"] for i in listed["items"]] == [
        "web"
    ]
    _, none = await call(gateway_server, "GET", PODS, params={"labelSelector": "app=db"})
    assert none["items"] == []
    _, everywhere = await call(gateway_server, "GET", "/api/v1/pods")
    assert len(everywhere["items"]) == 1
    code, _ = await call(gateway_server, "DELETE", f"{PODS}/web", {"gracePeriodSeconds": 0})
    assert code == 200
    code, status = await call(gateway_server, "GET", f"{PODS}/web")
    assert code == 404 and status["kind"] == "Status" and status["reason"] == "NotFound"
    assert status["details"] == {"kind": "pods", "name": "web"}


async def test_limit_and_continue(gateway_server: GatewayServer) -> None:
    for i in range(5):
        await call(gateway_server, "POST", "/api/v1/namespaces/default/configmaps",
                   {"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}})  # fmt: skip
    _, page = await call(gateway_server, "GET", "/api/v1/namespaces/default/configmaps?limit=2")
    names = [i["metadata"]["name"] for i in page["items"]]
    while token := page["metadata"].get("continue"):
        _, page = await call(
            gateway_server, "GET", "/api/v1/namespaces/default/configmaps",
            params={"limit": "2", "continue": token},
        )  # fmt: skip
        names += [i["metadata"]["name"] for i in page["items"]]
    assert names == [f"cm-{i}" for i in range(5)]


async def test_table(gateway_server: GatewayServer) -> None:
    await call(gateway_server, "POST", PODS, POD)
    code, table = await call(gateway_server, "GET", PODS, headers={"Accept": TABLE})
    assert code == 200 and table["kind"] == "Table"
    headers = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert headers == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert table["rows"][0]["cells"][:3] == ["web", "0/1", "Pending"]
    assert table["rows"][0]["object"]["metadata"]["name"] == "web"


async def test_status_errors(gateway_server: GatewayServer) -> None:
    code, status = await call(gateway_server, "GET", "/api/v1/namespaces/default/widgets")
    assert (code, status["reason"], status["kind"]) == (404, "NotFound", "Status")
    json_type = {"Content-Type": "application/json"}
    code, status = await call(gateway_server, "POST", PODS, b"{not json", headers=json_type)
    assert (code, status["reason"]) == (400, "BadRequest")
    code, status = await call(gateway_server, "POST", PODS, {**POD, "spec": {"containerz": []}})
    assert code == 400 and "containerz" in status["message"]
    await call(gateway_server, "POST", PODS, POD)
    code, status = await call(gateway_server, "POST", PODS, POD)
    assert (code, status["reason"]) == (409, "AlreadyExists")
    code, status = await call(
        gateway_server, "POST", PODS, {**POD, "metadata": {"name": "Bad_Name"}}
    )
    assert (code, status["reason"]) == (422, "Invalid")
    assert any(c["field"] == "metadata.name" for c in status["details"]["causes"])
    code, status = await call(
        gateway_server, "POST", PODS, {**POD, "metadata": {"name": "x", "namespace": "other"}}
    )
    assert code == 400 and "does not match the namespace" in status["message"]
    code, status = await call(
        gateway_server,
        "POST",
        PODS,
        b"\x00",
        headers={"Content-Type": "application/cbor"},
    )
    assert (code, status["reason"]) == (415, "UnsupportedMediaType")
    code, status = await call(
        gateway_server,
        "POST",
        PODS,
        b"\x00",
        headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
    )
    assert (code, status["reason"]) == (400, "BadRequest") and "magic" in status["message"]


async def test_update_conflict(gateway_server: GatewayServer) -> None:
    _, created = await call(gateway_server, "POST", PODS, POD)
    stale = json.loads(json.dumps(created))
    created["metadata"]["labels"]["tier"] = "front"
    code, updated = await call(gateway_server, "PUT", f"{PODS}/web", created)
    assert code == 200 and updated["metadata"]["labels"]["tier"] == "front"
    stale["metadata"]["labels"]["tier"] = "back"
    code, status = await call(gateway_server, "PUT", f"{PODS}/web", stale)
    assert (code, status["reason"]) == (409, "Conflict")


async def test_patches(gateway_server: GatewayServer) -> None:
    await call(gateway_server, "POST", DEPLOYMENTS, DEPLOYMENT)
    path = f"{DEPLOYMENTS}/web"
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}}
    smp_type = {"Content-Type": "application/strategic-merge-patch+json"}
    code, patched = await call(gateway_server, "PATCH", path, smp, headers=smp_type)
    assert code == 200
    names = [c["name"] for c in patched["spec"]["template"]["spec"]["containers"]]
    assert names == ["main", "side"]  # merged by name, not replaced
    merge = {"metadata": {"labels": {"team": "a"}}}
    _, patched = await call(gateway_server, "PATCH", path, merge,
                            headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
    assert patched["metadata"]["labels"] == {"team": "a"}
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 5}]
    _, patched = await call(gateway_server, "PATCH", path, ops,
                            headers={"Content-Type": "application/json-patch+json"})  # fmt: skip
    assert patched["spec"]["replicas"] == 5
    apply_type = {"Content-Type": "application/apply-patch+yaml"}
    code, status = await call(gateway_server, "PATCH", path, "x: 1", headers=apply_type)
    assert (code, status["reason"]) == (422, "Invalid")  # as Kubernetes: fieldManager first
    assert status["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
        "for apply patch"
    )
    code, status = await call(
        gateway_server, "PATCH", f"{path}?fieldManager=me", "x: 1", headers=apply_type
    )
    assert (code, status["reason"]) == (400, "BadRequest")
    code, status = await call(
        gateway_server, "PATCH", f"{path}?force=true", merge,
        headers={"Content-Type": "application/merge-patch+json"},
    )  # fmt: skip
    assert code == 422 and "force: Forbidden" in status["message"]


async def test_scale_and_status(gateway_server: GatewayServer) -> None:
    await call(gateway_server, "POST", DEPLOYMENTS, DEPLOYMENT)
    code, scale = await call(gateway_server, "GET", f"{DEPLOYMENTS}/web/scale")
    assert code == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2
    assert scale["status"]["selector"] == "app=web"
    _, scale = await call(gateway_server, "PATCH", f"{DEPLOYMENTS}/web/scale",
                          {"spec": {"replicas": 4}},
                          headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
    assert scale["spec"]["replicas"] == 4
    _, got = await call(gateway_server, "GET", f"{DEPLOYMENTS}/web")
    assert got["spec"]["replicas"] == 4
    code, _ = await call(gateway_server, "PUT", f"{DEPLOYMENTS}/web/scale",
                         {**scale, "spec": {"replicas": -1}})  # fmt: skip
    assert code == 422
    code, _ = await call(gateway_server, "GET", "/api/v1/namespaces/default/pods/x/scale")
    assert code == 404
    _, status = await call(gateway_server, "PATCH", f"{DEPLOYMENTS}/web/status",
                           {"status": {"observedGeneration": 7}},
                           headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
    assert status["status"]["observedGeneration"] == 7


async def test_subresources_follow_the_kinds_strategy(gateway_server: GatewayServer) -> None:
    """A replication controller's scale reads its selector map at the
    strategy's path; a kind without connect subresources has no pods/log."""
    labels = {"app": "web", "tier": "a"}
    template = {**DEPLOYMENT["spec"]["template"], "metadata": {"labels": labels}}
    rc = {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": labels, "template": template},
    }
    code, _ = await call(
        gateway_server, "POST", "/api/v1/namespaces/default/replicationcontrollers", rc
    )
    assert code == 201
    code, scale = await call(
        gateway_server, "GET", "/api/v1/namespaces/default/replicationcontrollers/web/scale"
    )
    assert code == 200 and scale["spec"]["replicas"] == 3
    assert scale["status"]["selector"] == "app=web,tier=a"
    await call(gateway_server, "POST", "/api/v1/namespaces/default/configmaps",
               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})  # fmt: skip
    for sub in ("log", "exec", "scale", "nothing"):
        code, _ = await call(
            gateway_server, "GET", f"/api/v1/namespaces/default/configmaps/c/{sub}"
        )
        assert code == 404, sub


async def test_delete_collection(gateway_server: GatewayServer) -> None:
    for name in ("a", "b"):
        await call(gateway_server, "POST", "/api/v1/namespaces/default/configmaps",
                   {"metadata": {"name": name, "labels": {"x": "1"}}})  # fmt: skip
    code, _ = await call(
        gateway_server, "DELETE", "/api/v1/namespaces/default/configmaps?labelSelector=x%3D1"
    )
    assert code == 200
    _, listed = await call(gateway_server, "GET", "/api/v1/namespaces/default/configmaps")
    assert listed["items"] == []


async def test_watch_stream(gateway_server: GatewayServer) -> None:
    _, listed = await call(gateway_server, "GET", PODS)
    version = listed["metadata"]["resourceVersion"]
    params = {"watch": "true", "resourceVersion": version, "timeoutSeconds": "10"}
    async with gateway_server.http.get(PODS, params=params) as response:
        assert response.status == 200
        await call(gateway_server, "POST", PODS, POD)
        line = await asyncio.wait_for(response.content.readline(), 10)
    event = json.loads(line)
    assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "web"


async def test_watch_table_and_bad_selector(gateway_server: GatewayServer) -> None:
    await call(gateway_server, "POST", PODS, POD)
    params = {"watch": "1", "timeoutSeconds": "10"}
    async with gateway_server.http.get(PODS, params=params, headers={"Accept": TABLE}) as response:
        event = json.loads(await asyncio.wait_for(response.content.readline(), 10))
    assert event["object"]["kind"] == "Table" and event["object"]["rows"][0]["cells"][0] == "web"
    code, status = await call(gateway_server, "GET", PODS,
                              params={"watch": "true", "fieldSelector": "spec.nope=1"})  # fmt: skip
    assert code == 400 or code == 422, status
    assert status["kind"] == "Status"


async def test_unreachable_api_is_a_status(gateway_server: GatewayServer) -> None:
    await gateway_server.client.channel.close()
    code, status = await call(gateway_server, "GET", PODS)
    assert code >= 500 and status["kind"] == "Status" and status["status"] == "Failure"
