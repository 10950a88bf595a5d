"""DaemonSets and StatefulSets through real kubectl, the official Python
client and plain REST: the documentation's manifests apply, rollouts,
scale and undo work, refusals read as Kubernetes' 422."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import grpc
import pytest
import yaml
from shoal import errors
from shoal.manifest import from_dict, to_dict

from tests.controllers.test_daemonset import daemonset
from tests.controllers.test_statefulset import statefulset
from tests.gateway.conftest import MANIFESTS, GatewayCluster, GatewayServer
from tests.integration.helpers import eventually
from tests.requirements import require_module

pytestmark = pytest.mark.usefixtures("needs_kubectl")

# The documentation's `web` StatefulSet without its volumeClaimTemplates.
WEB = """
apiVersion: v1
kind: Service
metadata: {name: nginx, labels: {app: nginx}}
spec:
  ports: [{port: 80, name: web}]
  clusterIP: None
  selector: {app: nginx}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  selector: {matchLabels: {app: nginx}}
  serviceName: nginx
  replicas: 2
  template:
    metadata: {labels: {app: nginx}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: shoal.local/hello:v1
        ports: [{containerPort: 80, name: web}]
"""


async def _live(cluster: GatewayCluster, namespace: str, label: str) -> list[str]:
    pods = await cluster.cluster.client.list("Pod", namespace, label_selector=label)
    return sorted(
        p.metadata.name for p in pods.items if not p.metadata.HasField("deletion_timestamp")
    )


async def test_daemonset_from_the_docs_covers_every_node_and_rolls_back(
    gateway_cluster: GatewayCluster,
) -> None:
    k = gateway_cluster.kubectl
    manifest = str(MANIFESTS / "daemonset-fluentd.yaml")
    assert (await k("create", "namespace", "kube-system")).code in (0, 1)
    applied = await k("apply", "-f", manifest)
    assert applied.code == 0, applied.err
    assert "daemonset.apps/fluentd-elasticsearch created" in applied.out
    status = await k(
        "rollout", "status", "ds/fluentd-elasticsearch", "-n", "kube-system", "--timeout=60s"
    )
    assert status.code == 0, status.err
    assert 'daemon set "fluentd-elasticsearch" successfully rolled out' in status.out
    table = await k("get", "ds", "-n", "kube-system", "-o", "wide")
    assert table.out.splitlines()[0].split() == [
        "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR",
        "AGE", "CONTAINERS", "IMAGES", "SELECTOR",
    ], table.out  # fmt: skip
    assert table.out.splitlines()[1].split()[:7] == [
        "fluentd-elasticsearch", "2", "2", "2", "2", "2", "<none>",
    ]  # fmt: skip
    pods = await gateway_cluster.cluster.client.list(
        "Pod", "kube-system", label_selector="name=fluentd-elasticsearch"
    )
    assert sorted(p.spec.node_name for p in pods.items) == gateway_cluster.cluster.nodes

    changed = await k(
        "set", "image", "ds/fluentd-elasticsearch", "-n", "kube-system",
        "fluentd-elasticsearch=shoal.local/hello:v1",
    )  # fmt: skip
    assert changed.code == 0, changed.err
    status = await k(
        "rollout", "status", "ds/fluentd-elasticsearch", "-n", "kube-system", "--timeout=60s"
    )
    assert status.code == 0, status.err
    history = await k("rollout", "history", "ds/fluentd-elasticsearch", "-n", "kube-system")
    assert history.code == 0, history.err
    assert [line.split()[0] for line in history.out.splitlines()[2:] if line.strip()] == ["1", "2"]
    detail = await k(
        "rollout", "history", "ds/fluentd-elasticsearch", "-n", "kube-system", "--revision=1"
    )
    assert detail.code == 0 and "shoal.local/busybox" in detail.out, detail.err
    undone = await k("rollout", "undo", "ds/fluentd-elasticsearch", "-n", "kube-system")
    assert undone.code == 0 and "rolled back" in undone.out, undone.err
    image = await k(
        "get", "ds", "fluentd-elasticsearch", "-n", "kube-system",
        "-o", "jsonpath={.spec.template.spec.containers[0].image}",
    )  # fmt: skip
    assert image.out == "shoal.local/busybox"
    described = await k("describe", "ds", "fluentd-elasticsearch", "-n", "kube-system")
    assert described.code == 0, described.err
    assert re.search(r"Desired Number of Nodes Scheduled: 2", described.out), described.out


async def test_statefulset_status_scale_and_get(gateway_cluster: GatewayCluster) -> None:
    k = gateway_cluster.kubectl
    applied = await k("apply", "-f", "-", input=WEB)
    assert applied.code == 0, applied.err
    status = await k("rollout", "status", "sts/web", "--timeout=60s")
    assert status.code == 0, status.err
    # kubectl's words for a defaulted rollingUpdate (partition 0), as on Kubernetes.
    assert "partitioned roll out complete: 2 new pods have been updated..." in status.out
    assert await _live(gateway_cluster, "default", "app=nginx") == ["web-0", "web-1"]
    scaled = await k("scale", "sts", "web", "--replicas=1")
    assert scaled.code == 0 and "statefulset.apps/web scaled" in scaled.out, scaled.err

    async def one() -> bool:
        return await _live(gateway_cluster, "default", "app=nginx") == ["web-0"]

    await eventually(one, timeout=30)
    changed = await k("set", "image", "sts/web", "nginx=shoal.local/hello:v2")
    assert changed.code == 0, changed.err
    status = await k("rollout", "status", "sts/web", "--timeout=60s")
    assert status.code == 0, status.err
    undone = await k("rollout", "undo", "sts/web")
    assert undone.code == 0 and "statefulset.apps/web rolled back" in undone.out, undone.err
    image = await k("get", "sts", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image.out == "shoal.local/hello:v1"
    table = await k("get", "sts")
    assert re.match(r"NAME\s+READY\s+AGE\nweb\s+[01]/1\s", table.out), table.out
    listed = await k("get", "ds,sts", "-A", "-o", "name")
    assert listed.code == 0 and "statefulset.apps/web" in listed.out, listed.err
    everything = await k("get", "all", "-o", "name")
    assert "statefulset.apps/web" in everything.out, everything.err
    described = await k("describe", "sts", "web")
    assert described.code == 0, described.err
    assert "Pods Status:" in described.out and "SuccessfulCreate" in described.out
    revisions = await k("get", "controllerrevisions", "-o", "name")
    assert revisions.out.startswith("controllerrevision.apps/web-"), revisions.err


def _apps_read(kubernetes: Any, url: str) -> tuple[Any, Any, Any]:
    configuration = kubernetes.client.Configuration()
    configuration.host = url
    with kubernetes.client.ApiClient(configuration) as api:
        apps = kubernetes.client.AppsV1Api(api)
        sts = apps.read_namespaced_stateful_set("web", "default")
        listed = apps.list_namespaced_daemon_set("default")
        revisions = apps.list_namespaced_controller_revision("default")
        return sts, listed, revisions


async def test_official_python_client_reads_sets(gateway_server: GatewayServer) -> None:
    kubernetes = require_module("kubernetes")
    await gateway_server.client.create(statefulset(2))
    await gateway_server.client.create(daemonset())
    sts, listed, _ = await asyncio.to_thread(_apps_read, kubernetes, gateway_server.url)
    assert sts.spec.service_name == "nginx" and sts.spec.replicas == 2
    assert sts.spec.pod_management_policy == "OrderedReady"
    assert sts.spec.update_strategy.rolling_update.partition == 0
    ds = listed.items[0]
    assert ds.spec.update_strategy.rolling_update.max_unavailable == 1
    assert ds.status.desired_number_scheduled == 0  # always present, as in Kubernetes


INVALID = [
    # (kind, patch to the valid object, field Kubernetes names)
    ("StatefulSet", {"spec": {"podManagementPolicy": "Sometimes"}}, "spec.podManagementPolicy"),
    ("StatefulSet", {"spec": {"template": {"metadata": {"labels": {"app": "x"}}}}},
     "spec.template.metadata.labels"),
    ("DaemonSet", {"spec": {"updateStrategy": {"type": "Whenever"}}}, "spec.updateStrategy.type"),
    ("DaemonSet", {"spec": {"updateStrategy": {"rollingUpdate": {
        "maxUnavailable": 0, "maxSurge": 0}}}}, "spec.updateStrategy.rollingUpdate.maxUnavailable"),
    ("DaemonSet", {"spec": {"template": {"spec": {"restartPolicy": "Never"}}}},
     "spec.template.spec.restartPolicy"),
]  # fmt: skip


def _merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        out[key] = _merged(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def _valid(kind: str) -> dict[str, Any]:
    return to_dict(statefulset(1) if kind == "StatefulSet" else daemonset())


@pytest.mark.parametrize(("kind", "patch", "field"), INVALID)
async def test_refusals_are_invalid_argument_and_422(
    gateway_server: GatewayServer, kind: str, patch: dict[str, Any], field: str
) -> None:
    body = _merged(_valid(kind), patch)
    with pytest.raises(errors.InvalidError) as refused:
        await gateway_server.client.create(from_dict(body))
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in str(refused.value)
    plural = kind.lower() + "s"
    async with gateway_server.http.post(
        f"/apis/apps/v1/namespaces/default/{plural}", json=body
    ) as response:
        assert response.status == 422
        status = await response.json()
    assert status["reason"] == "Invalid"
    assert field in {c["field"] for c in status["details"]["causes"]}
    assert (await gateway_server.client.list(kind)).items == []


async def test_immutable_fields_refused_on_update(gateway_server: GatewayServer) -> None:
    client = gateway_server.client
    await client.create(statefulset(1))
    claim = {"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"],
             "resources": {"requests": {"storage": "1Gi"}}}}  # fmt: skip
    for patch, field in (
        ({"spec": {"serviceName": "other"}}, "spec"),
        ({"spec": {"volumeClaimTemplates": [claim]}}, "spec"),
        (
            {
                "spec": {
                    "selector": {"matchLabels": {"app": "nginx", "x": "y"}},
                    "template": {"metadata": {"labels": {"x": "y"}}},
                }
            },
            "spec.selector",
        ),
    ):
        with pytest.raises(errors.InvalidError) as refused:
            await client.patch("StatefulSet", "web", patch)
        assert field in str(refused.value)
        async with gateway_server.http.patch(
            "/apis/apps/v1/namespaces/default/statefulsets/web",
            data=json.dumps(patch),
            headers={"Content-Type": "application/merge-patch+json"},
        ) as response:
            assert response.status == 422, await response.text()
    assert (await client.get("StatefulSet", "web")).spec.service_name == "nginx"


async def test_scale_subresource_of_a_statefulset(gateway_server: GatewayServer) -> None:
    await gateway_server.client.create(statefulset(2))
    async with gateway_server.http.get(
        "/apis/apps/v1/namespaces/default/statefulsets/web/scale"
    ) as response:
        scale = await response.json()
    assert scale["spec"] == {"replicas": 2} and scale["status"]["selector"] == "app=nginx"
    manifest = yaml.safe_dump(scale)
    assert "autoscaling/v1" in manifest
