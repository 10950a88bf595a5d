"""The scheduler's decision record over REST: a Binding POSTed to
``pods/NAME/binding`` carries its annotations onto the pod (as Kubernetes'
assignPod), and a GET of the pod serves them, as ``shoal why`` reads them."""

from __future__ import annotations

from typing import Any

ANNOTATION = "scheduler.shoal.dev/decision"


async def test_a_bindings_annotations_reach_the_pod_over_rest(gateway_server: Any) -> None:
    http = gateway_server.http
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
           "spec": {"containers": [{"name": "main", "image": "busybox"}]}}  # fmt: skip
    assert (await http.post("/api/v1/namespaces/default/pods", json=pod)).status == 201
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "web", "annotations": {ANNOTATION: '{"node":"node-1"}'}},
        "target": {"kind": "Node", "name": "node-1"},
    }
    url = "/api/v1/namespaces/default/pods/web/binding"
    assert (await http.post(url, json=binding)).status == 201
    got = await (await http.get("/api/v1/namespaces/default/pods/web")).json()
    assert got["spec"]["nodeName"] == "node-1"
    assert got["metadata"]["annotations"] == {ANNOTATION: '{"node":"node-1"}'}
    bad = {**binding, "target": {"kind": "Node", "name": ""}}
    await http.post("/api/v1/namespaces/default/pods", json={**pod, "metadata": {"name": "b"}})
    refused = await http.post("/api/v1/namespaces/default/pods/b/binding", json={
        **bad, "metadata": {"name": "b", "annotations": {ANNOTATION: "{}"}}})  # fmt: skip
    assert refused.status == 422
    untouched = await (await http.get("/api/v1/namespaces/default/pods/b")).json()
    assert ANNOTATION not in untouched["metadata"].get("annotations", {})
