"""The strategy contract (``shoal.testing.StrategyContract``) over every
built-in kind, exactly as a third-party kind's author runs it."""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import pytest
from shoal import errors
from shoal.manifest import from_dict
from shoal.testing import StrategyContract
from shoal.testing.strategy_contract import api_server

RBAC = "rbac.authorization.k8s.io/v1"


def obj(api_version: str, kind: str, name: str, namespace: str = "default", **body: Any) -> Any:
    meta = {"name": name, "namespace": namespace} if namespace else {"name": name}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **body}


def with_spec(manifest: dict[str, Any], **spec: Any) -> dict[str, Any]:
    changed = copy.deepcopy(manifest)
    changed["spec"] = {**changed.get("spec", {}), **spec}
    return changed


POD_SPEC = {"containers": [{"name": "c", "image": "shoal.local/busybox"}]}
POD = obj("v1", "Pod", "web", spec=POD_SPEC)
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC}
RC = obj(
    "v1",
    "ReplicationController",
    "web",
    spec={"replicas": 2, "selector": {"app": "web"}, "template": TEMPLATE},
)
WORKLOAD = {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE}
RS = obj("apps/v1", "ReplicaSet", "web", spec=WORKLOAD)
DEPLOYMENT = obj("apps/v1", "Deployment", "web", spec=WORKLOAD)
SERVICE = obj("v1", "Service", "web", spec={"selector": {"app": "web"}, "ports": [{"port": 80}]})
CONFIG_MAP = obj("v1", "ConfigMap", "settings", data={"a": "1"})
SECRET = obj("v1", "Secret", "token", data={"a": "MQ=="})
RULE = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
ROLE_REF = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
SUBJECT = {"kind": "User", "name": "ann", "apiGroup": "rbac.authorization.k8s.io"}


class TestNamespace(StrategyContract):
    kind = "Namespace"
    valid = [obj("v1", "Namespace", "team-a", "")]


class TestNode(StrategyContract):
    kind = "Node"
    valid = [obj("v1", "Node", "n1", "", spec={"taints": [{"key": "k", "effect": "NoSchedule"}]})]
    invalid = [
        (
            obj("v1", "Node", "n2", "", spec={"taints": [{"effect": "NoSchedule"}]}),
            "spec.taints[0].key",
        )
    ]


class TestPod(StrategyContract):
    kind = "Pod"
    valid = [POD]
    invalid = [
        (with_spec(POD, containers=[]), "spec.containers"),
        (with_spec(POD, restartPolicy="Sometimes"), "spec.restartPolicy"),
    ]
    immutable = [
        (POD, {"spec": {"containers": [{"name": "d", "image": "x"}]}}, "spec"),
        (with_spec(POD, nodeName="n1"), {"spec": {"nodeName": "n2"}}, "spec.nodeName"),
    ]


class TestBinding(StrategyContract):
    """A Binding is never stored: it is applied to its pod. Its checks are
    in the create (``create_unstored``), so the round trip and the refusal
    go through a pod."""

    kind = "Binding"
    valid = [obj("v1", "Binding", "web", target={"kind": "Node", "name": "n1"})]

    async def test_create_round_trips_through_an_api_server(self) -> None:
        async with api_server() as client:
            await client.create(from_dict(copy.deepcopy(POD)))
            await client.create(from_dict(copy.deepcopy(self.valid[0])))
            assert (await client.get("pods", "web", "default")).spec.node_name == "n1"

    async def test_the_api_server_refuses_invalid_samples(self) -> None:
        async with api_server() as client:
            await client.create(from_dict(copy.deepcopy(POD)))
            bad = obj("v1", "Binding", "web", target={"kind": "Pod", "name": "n1"})
            with pytest.raises(errors.InvalidError) as refused:
                await client.create(from_dict(bad))
            assert [path for path, _ in refused.value.causes] == ["target.kind"]
            assert not (await client.get("pods", "web", "default")).spec.node_name


class TestReplicationController(StrategyContract):
    kind = "ReplicationController"
    valid = [RC]
    invalid = [
        (with_spec(RC, replicas=-1), "spec.replicas"),
        (with_spec(RC, selector={"app": "other"}), "spec.template.metadata.labels"),
    ]


class TestService(StrategyContract):
    kind = "Service"
    valid = [SERVICE, with_spec(SERVICE, type="NodePort")]
    invalid = [
        (with_spec(SERVICE, type="Sideways"), "spec.type"),
        (with_spec(SERVICE, ports=[]), "spec.ports"),
    ]
    immutable = [
        (
            with_spec(SERVICE, clusterIP="10.0.0.9"),
            {"spec": {"clusterIP": "10.0.0.8"}},
            "spec.clusterIP",
        )
    ]


class TestEndpoints(StrategyContract):
    kind = "Endpoints"
    valid = [
        obj(
            "v1",
            "Endpoints",
            "web",
            subsets=[{"addresses": [{"ip": "10.1.0.4"}], "ports": [{"port": 80}]}],
        )
    ]


class TestEvent(StrategyContract):
    kind = "Event"
    valid = [
        obj(
            "v1",
            "Event",
            "web.1",
            involvedObject={"kind": "Pod", "name": "web"},
            reason="Started",
            type="Normal",
        )
    ]


class TestConfigMap(StrategyContract):
    kind = "ConfigMap"
    valid = [CONFIG_MAP]
    invalid = [(obj("v1", "ConfigMap", "bad", data={"no/slash": "1"}), "data")]
    immutable = [({**CONFIG_MAP, "immutable": True}, {"data": {"a": "2"}}, "data")]


class TestSecret(StrategyContract):
    kind = "Secret"
    valid = [SECRET]
    invalid = [(obj("v1", "Secret", "bad", data={"no/slash": "MQ=="}), "data")]
    immutable = [({**SECRET, "immutable": True}, {"data": {"a": "Mg=="}}, "data")]


class TestServiceAccount(StrategyContract):
    kind = "ServiceAccount"
    valid = [obj("v1", "ServiceAccount", "builder")]


class TestReplicaSet(StrategyContract):
    kind = "ReplicaSet"
    valid = [RS]
    invalid = [(with_spec(RS, replicas=-1), "spec.replicas")]
    immutable = [(RS, {"spec": {"selector": {"matchLabels": {"app": "x"}}}}, "spec.selector")]


class TestDeployment(StrategyContract):
    kind = "Deployment"
    valid = [DEPLOYMENT, with_spec(DEPLOYMENT, strategy={"type": "Recreate"})]
    invalid = [
        (with_spec(DEPLOYMENT, strategy={"type": "Sometimes"}), "spec.strategy.type"),
        (with_spec(DEPLOYMENT, selector={}), "spec.selector"),
    ]
    immutable = [
        (DEPLOYMENT, {"spec": {"selector": {"matchLabels": {"app": "x"}}}}, "spec.selector")
    ]


class TestLease(StrategyContract):
    kind = "Lease"
    valid = [
        obj(
            "coordination.k8s.io/v1",
            "Lease",
            "leader",
            spec={"holderIdentity": "a", "leaseDurationSeconds": 15},
        )
    ]


class TestRole(StrategyContract):
    kind = "Role"
    valid = [obj(RBAC, "Role", "reader", rules=[RULE])]
    invalid = [(obj(RBAC, "Role", "bad", rules=[{**RULE, "verbs": []}]), "rules[0].verbs")]


class TestClusterRole(StrategyContract):
    kind = "ClusterRole"
    valid = [obj(RBAC, "ClusterRole", "reader", "", rules=[RULE])]
    invalid = [
        (
            obj(RBAC, "ClusterRole", "bad", "", rules=[{**RULE, "resources": []}]),
            "rules[0].resources",
        )
    ]


class TestRoleBinding(StrategyContract):
    kind = "RoleBinding"
    valid = [obj(RBAC, "RoleBinding", "read", roleRef=ROLE_REF, subjects=[SUBJECT])]
    invalid = [
        (obj(RBAC, "RoleBinding", "bad", roleRef={**ROLE_REF, "kind": "Pod"}), "roleRef.kind")
    ]
    immutable = [(valid[0], {"roleRef": {"name": "edit"}}, "roleRef")]


class TestClusterRoleBinding(StrategyContract):
    kind = "ClusterRoleBinding"
    valid = [obj(RBAC, "ClusterRoleBinding", "read", "", roleRef=ROLE_REF, subjects=[SUBJECT])]
    invalid = [
        (
            obj(RBAC, "ClusterRoleBinding", "bad", "", roleRef={**ROLE_REF, "kind": "Role"}),
            "roleRef.kind",
        )
    ]
    immutable = [(valid[0], {"roleRef": {"name": "edit"}}, "roleRef")]


def test_every_built_in_kind_keeps_the_contract() -> None:
    """A new built-in kind (plugins/kinds/) comes with its contract class here."""
    import importlib

    from shoal import kinds
    from shoal.plugin_manager import DEFAULT_PLUGINS
    from shoal.registry import Registry

    built_in: set[str] = set()
    for module in DEFAULT_PLUGINS:
        plugin = importlib.import_module(module)
        if hasattr(plugin, "register_kinds"):
            registry: Registry[kinds.Kind] = Registry("kind")
            plugin.register_kinds(registry)
            built_in |= {k.kind for _, k in registry.items()}
    # Contract classes may live in sibling modules (test_batch_strategies.py):
    # import them so the answer does not depend on which tests were collected.
    for path in sorted(pathlib.Path(__file__).parent.glob("test_*_strategies.py")):
        importlib.import_module(f"tests.integration.{path.stem}")
    tested = {kinds.resolve(c.kind).kind for c in StrategyContract.__subclasses__()}
    assert len(built_in) >= 18 and built_in - tested == set()


class TestPriorityClass(StrategyContract):
    kind = "PriorityClass"
    valid = [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
              "metadata": {"name": "high"}, "value": 1000}]  # fmt: skip
    invalid = [
        ({**valid[0], "value": 2_000_000_000}, "value"),
        ({**valid[0], "preemptionPolicy": "Sometimes"}, "preemptionPolicy"),
    ]
    immutable = [(valid[0], {"value": 10}, "value")]


class TestPodDisruptionBudget(StrategyContract):
    kind = "PodDisruptionBudget"
    valid = [
        obj("policy/v1", "PodDisruptionBudget", "web",
            spec={"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}})
    ]  # fmt: skip
    invalid = [
        (with_spec(valid[0], maxUnavailable=1), "spec"),
        (with_spec(valid[0], minAvailable="150%"), "spec.minAvailable"),
    ]


HPA_SPEC = {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    "maxReplicas": 5,
}


class TestHorizontalPodAutoscaler(StrategyContract):
    kind = "HorizontalPodAutoscaler"
    valid = [obj("autoscaling/v2", "HorizontalPodAutoscaler", "web", spec=HPA_SPEC)]
    invalid = [
        (with_spec(valid[0], minReplicas=6), "spec.maxReplicas"),
        (with_spec(valid[0], minReplicas=-1), "spec.minReplicas"),
        (with_spec(valid[0], scaleTargetRef={"kind": "Deployment"}), "spec.scaleTargetRef.name"),
        (with_spec(valid[0], metrics=[{"type": "Resource", "resource": {
            "name": "gpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]),
         "spec.metrics[0].resource.name"),
        (with_spec(valid[0], metrics=[{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization"}}}]),
         "spec.metrics[0].resource.target.averageUtilization"),
        (with_spec(valid[0], behavior={"scaleDown": {"policies": [
            {"type": "Pods", "value": 1, "periodSeconds": 0}]}}),
         "spec.behavior.scaleDown.policies[0].periodSeconds"),
    ]  # fmt: skip


class TestEviction(StrategyContract):
    """An Eviction is never stored: it is applied to its pod (deleted, as no
    budget covers it). Its checks are in the create, so the round trip and
    the refusal go through a pod."""

    kind = "Eviction"
    valid = [obj("policy/v1", "Eviction", "web")]

    async def test_create_round_trips_through_an_api_server(self) -> None:
        async with api_server() as client:
            await client.create(from_dict(copy.deepcopy(POD)))
            await client.create(from_dict(copy.deepcopy(self.valid[0])))
            with pytest.raises(errors.NotFoundError):
                await client.get("pods", "web", "default")

    async def test_the_api_server_refuses_invalid_samples(self) -> None:
        async with api_server() as client:
            with pytest.raises(errors.NotFoundError):  # no such pod: nothing to evict
                await client.create(from_dict(obj("policy/v1", "Eviction", "nobody")))


CLAIM_SPEC = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}


class TestPersistentVolume(StrategyContract):
    kind = "PersistentVolume"
    valid = [
        obj("v1", "PersistentVolume", "data", namespace="",
            spec={"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                  "hostPath": {"path": "/tmp/data"}})
    ]  # fmt: skip
    invalid = [
        (with_spec(valid[0], accessModes=[]), "spec.accessModes"),
        (with_spec(valid[0], persistentVolumeReclaimPolicy="Sometimes"),
         "spec.persistentVolumeReclaimPolicy"),
    ]  # fmt: skip
    immutable = [(valid[0], {"spec": {"volumeMode": "Block"}}, "spec.volumeMode")]


class TestPersistentVolumeClaim(StrategyContract):
    kind = "PersistentVolumeClaim"
    valid = [obj("v1", "PersistentVolumeClaim", "data", spec=CLAIM_SPEC)]
    invalid = [(with_spec(valid[0], accessModes=[]), "spec.accessModes")]
    immutable = [(valid[0], {"spec": {"volumeMode": "Block"}}, "spec")]


class TestStorageClass(StrategyContract):
    kind = "StorageClass"
    valid = [{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
              "metadata": {"name": "fast"}, "provisioner": "shoal.dev/local-path"}]  # fmt: skip
    invalid = [({**valid[0], "volumeBindingMode": "Later"}, "volumeBindingMode")]
    immutable = [(valid[0], {"provisioner": "other"}, "provisioner")]


SET_SPEC = {"selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE}


class TestDaemonSet(StrategyContract):
    kind = "DaemonSet"
    valid = [obj("apps/v1", "DaemonSet", "agent", spec=SET_SPEC)]
    invalid = [(with_spec(valid[0], selector={"matchLabels": {"app": "other"}}), "spec")]
    immutable = [(valid[0], {"spec": {"selector": {"matchLabels": {"x": "y"}}}}, "spec.selector")]


class TestStatefulSet(StrategyContract):
    kind = "StatefulSet"
    valid = [obj("apps/v1", "StatefulSet", "web", spec={**SET_SPEC, "serviceName": "web"})]
    invalid = [(with_spec(valid[0], replicas=-1), "spec.replicas")]
    immutable = [(valid[0], {"spec": {"serviceName": "other"}}, "spec")]


class TestControllerRevision(StrategyContract):
    kind = "ControllerRevision"
    valid = [obj("apps/v1", "ControllerRevision", "web-1", data={"spec": {}}, revision=1)]
    invalid = [({**valid[0], "revision": -1}, "revision")]
    immutable = [(valid[0], {"data": {"spec": {"x": 1}}}, "data")]


def _definition() -> dict[str, Any]:
    from tests.crds.helpers import crd_manifest

    return crd_manifest("contract.example.com")


class TestCustomResourceDefinition(StrategyContract):
    kind = "CustomResourceDefinition"
    valid = [_definition()]
    invalid = [(with_spec(valid[0], scope="Everywhere"), "spec.scope")]
    immutable = [(valid[0], {"spec": {"scope": "Cluster"}}, "spec.scope")]
