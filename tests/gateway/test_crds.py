"""CustomResourceDefinitions through the REST gateway: custom objects as
their own JSON under /apis/<group>/<version>, discovery and OpenAPI that
follow definitions live, tables from printer columns, the scale and status
subresources, patches, and 422s naming the field."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.crds.helpers import crd_manifest, crontab, unique_group
from tests.gateway.conftest import GatewayServer
from tests.gateway.test_http import TABLE, call
from tests.integration.helpers import eventually

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def objects(group: str, version: str = "v1") -> str:
    return f"/apis/{group}/{version}/namespaces/default/crontabs"


async def define(gw: GatewayServer, **kwargs: Any) -> str:
    group = unique_group()
    code, body = await call(gw, "POST", CRDS, crd_manifest(group, **kwargs))
    assert code == 201, body
    assert {c["type"]: c["status"] for c in body["status"]["conditions"]}["Established"] == "True"
    return group


async def test_discovery_follows_definitions(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    group = await define(gw)
    _, groups = await call(gw, "GET", "/apis")
    found = next(g for g in groups["groups"] if g["name"] == group)
    assert found["preferredVersion"]["version"] == "v1"
    _, listing = await call(gw, "GET", f"/apis/{group}/v1")
    resources = {r["name"]: r for r in listing["resources"]}
    assert resources["crontabs"]["shortNames"] == ["ct"]
    assert resources["crontabs"]["categories"] == ["all"]
    assert resources["crontabs"]["kind"] == "CronTab" and resources["crontabs"]["namespaced"]
    assert resources["crontabs/scale"]["kind"] == "Scale"
    assert "crontabs/status" in resources
    code, _ = await call(gw, "DELETE", f"{CRDS}/crontabs.{group}")
    assert code == 200

    async def gone() -> bool:
        code, _ = await call(gw, "GET", f"/apis/{group}/v1")
        return code == 404

    await eventually(gone)
    _, groups = await call(gw, "GET", "/apis")
    assert group not in {g["name"] for g in groups["groups"]}


async def test_objects_as_their_own_json(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    group = await define(gw)
    code, made = await call(gw, "POST", objects(group), crontab(group, "a", image="img"))
    assert code == 201, made
    assert made["spec"] == {"cronSpec": "* * * * */5", "image": "img", "replicas": 1,
                            "mode": "Allow"}  # fmt: skip
    assert "content" not in made and made["kind"] == "CronTab"
    code, got = await call(gw, "GET", f"{objects(group)}/a")
    assert code == 200 and got["metadata"]["uid"] == made["metadata"]["uid"]
    code, listed = await call(gw, "GET", objects(group))
    assert listed["kind"] == "CronTabList" and [i["metadata"]["name"] for i in listed["items"]] == [
        "a"
    ]
    code, everywhere = await call(gw, "GET", f"/apis/{group}/v1/crontabs")
    assert code == 200 and len(everywhere["items"]) == 1
    got["spec"]["image"] = "img2"
    code, put = await call(gw, "PUT", f"{objects(group)}/a", got)
    assert code == 200 and put["spec"]["image"] == "img2"


async def test_table_uses_printer_columns(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    group = await define(gw)
    code, made = await call(gw, "POST", objects(group), crontab(group, "t", image="busybox"))
    assert code == 201, made
    code, table = await call(gw, "GET", objects(group), headers={"Accept": TABLE})
    assert code == 200, table
    names = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert names == [("Name", 0), ("Spec", 0), ("Replicas", 0), ("Age", 0), ("Image", 1)]
    assert table["rows"], table
    cells = table["rows"][0]["cells"]
    assert cells[:3] == ["t", "* * * * */5", "1"] and cells[4] == "busybox"


async def test_schema_violations_are_422_with_causes(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    group = await define(gw)
    code, status = await call(gw, "POST", objects(group), crontab(group, "b", replicas=99))
    assert code == 422, status
    assert status["reason"] == "Invalid"
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.replicas"]
    await call(gw, "POST", objects(group), crontab(group, "ok"))
    for content_type, patch in (
        ("application/merge-patch+json", {"spec": {"mode": "Never"}}),
        ("application/json-patch+json", [{"op": "replace", "path": "/spec/mode", "value": 3}]),
    ):
        code, status = await call(
            gw, "PATCH", f"{objects(group)}/ok", json.dumps(patch),
            headers={"Content-Type": content_type},
        )  # fmt: skip
        assert code == 422, status
        assert [c["field"] for c in status["details"]["causes"]] == ["spec.mode"]
    bad_definition = crd_manifest(unique_group(), scope="Galaxy")
    code, status = await call(gw, "POST", CRDS, bad_definition)
    assert code == 422 and "spec.scope" in [c["field"] for c in status["details"]["causes"]]
    code, status = await call(gw, "POST", objects(group), {"kind": "CronTab", "spec": "x"})
    assert code in (400, 422), status


async def test_status_and_scale_subresources(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    group = await define(gw)
    await call(gw, "POST", objects(group), crontab(group, "s"))
    merge = {"Content-Type": "application/merge-patch+json"}
    code, patched = await call(
        gw, "PATCH", f"{objects(group)}/s/status",
        json.dumps({"status": {"replicas": 1, "selector": "app=s"}, "spec": {"replicas": 7}}),
        headers=merge,
    )  # fmt: skip
    assert code == 200, patched
    assert patched["status"] == {"replicas": 1, "selector": "app=s"}
    assert patched["spec"]["replicas"] == 1  # the status subresource ignores spec
    code, scale = await call(gw, "GET", f"{objects(group)}/s/scale")
    assert code == 200, scale
    assert scale["spec"] == {"replicas": 1}
    assert scale["status"] == {"replicas": 1, "selector": "app=s"}
    code, scale = await call(
        gw, "PATCH", f"{objects(group)}/s/scale", json.dumps({"spec": {"replicas": 4}}),
        headers=merge,
    )  # fmt: skip
    assert code == 200 and scale["spec"]["replicas"] == 4
    _, got = await call(gw, "GET", f"{objects(group)}/s")
    assert got["spec"]["replicas"] == 4
    code, status = await call(
        gw, "PATCH", f"{objects(group)}/s/scale", json.dumps({"spec": {"replicas": 40}}),
        headers=merge,
    )  # fmt: skip
    assert code == 422 and "spec.replicas" in status["message"]


async def test_openapi_carries_the_schema(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    group = await define(gw)
    code, index = await call(gw, "GET", "/openapi/v3")
    assert code == 200 and f"apis/{group}/v1" in index["paths"]
    code, document = await call(gw, "GET", index["paths"][f"apis/{group}/v1"]["serverRelativeURL"])
    assert code == 200
    name = ".".join(reversed(group.split("."))) + ".v1.CronTab"
    schema = document["components"]["schemas"][name]
    assert schema["properties"]["spec"]["properties"]["replicas"]["maximum"] == 10
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": group, "kind": "CronTab", "version": "v1"}
    ]
    code, v2 = await call(gw, "GET", "/openapi/v2")
    assert code == 200 and name in v2["definitions"]


async def test_versions_share_objects_and_watch_sees_its_version(
    gateway_server: GatewayServer,
) -> None:
    gw = gateway_server
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    versions = [
        {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}},
        {"name": "v1beta1", "served": True, "storage": False,
         "schema": {"openAPIV3Schema": schema}},
    ]  # fmt: skip
    group = await define(gw, versions=versions)
    _, listed = await call(gw, "GET", objects(group, "v1beta1"))
    params = {"watch": "true", "resourceVersion": listed["metadata"]["resourceVersion"],
              "timeoutSeconds": "10"}  # fmt: skip
    async with gw.http.get(objects(group, "v1beta1"), params=params) as response:
        assert response.status == 200
        code, made = await call(gw, "POST", objects(group), crontab(group, "w"))
        assert code == 201 and made["apiVersion"] == f"{group}/v1"
        line = await asyncio.wait_for(response.content.readline(), 10)
    event = json.loads(line)
    assert event["type"] == "ADDED" and event["object"]["apiVersion"] == f"{group}/v1beta1"
    _, old = await call(gw, "GET", f"{objects(group, 'v1beta1')}/w")
    assert old["apiVersion"] == f"{group}/v1beta1" and old["spec"]["cronSpec"]
