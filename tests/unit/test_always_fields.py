"""Kubernetes' JSON writes a field even at its zero value unless its Go type
tags it `omitempty`; options.proto's `always` marks such fields, and to_dict
writes them. The table below states, per message, the fields Kubernetes
always writes, read off its Go types (k8s.io/api core/v1, apps/v1, batch/v1,
coordination/v1, rbac/v1, storage/v1, autoscaling/v1, autoscaling/v2 and
k8s.io/apimachinery meta/v1 types.go): no
`omitempty` tag, or a non-pointer struct (metav1.Time, IntOrString,
resource.Quantity, a nested spec), which encoding/json never leaves out.
metadata.creationTimestamp is `omitzero` since Kubernetes 1.34, so it is
not here. Condition stands for every Kubernetes condition type and holds
what they all write."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.descriptor import Descriptor
from shoal import kinds
from shoal.api.v1 import apiextensions_pb2, apps_pb2, core_pb2, rbac_pb2
from shoal.manifest import from_dict, load_documents, to_dict
from shoal.manifest_always import always_fields, is_nullable

from tests.requirements import require_module
from tests.unit.test_manifest import MANIFESTS

_OBJECT = {"metadata", "spec", "status"}

KUBERNETES_ALWAYS: dict[str, set[str]] = {
    # kinds: metadata (ObjectMeta), spec and status are non-pointer structs
    "Namespace": _OBJECT,
    "Node": _OBJECT,
    "Pod": _OBJECT,
    "ReplicationController": _OBJECT,
    "Service": _OBJECT,
    "ReplicaSet": _OBJECT,
    "Deployment": _OBJECT,
    "Lease": {"metadata", "spec"},
    "PersistentVolume": _OBJECT,
    "PersistentVolumeClaim": _OBJECT,
    "StorageClass": {"metadata", "provisioner"},
    "Binding": {"metadata", "target"},
    "Endpoints": {"metadata"},
    "ConfigMap": {"metadata"},
    "Secret": {"metadata"},
    "ServiceAccount": {"metadata"},
    "Role": {"metadata", "rules"},
    "ClusterRole": {"metadata", "rules"},
    "RoleBinding": {"metadata", "roleRef"},
    "ClusterRoleBinding": {"metadata", "roleRef"},
    "Job": _OBJECT,
    "CronJob": _OBJECT,
    "Event": {
        "metadata", "involvedObject", "source", "firstTimestamp", "lastTimestamp",
        "eventTime", "reportingComponent", "reportingInstance",
    },
    # batch/v1
    "JobSpec": {"template"},
    "JobTemplateSpec": {"metadata", "spec"},
    "CronJobSpec": {"schedule", "jobTemplate"},
    "PodFailurePolicy": {"rules"},
    "SuccessPolicy": {"rules"},
    "PodFailurePolicyRule": {"action"},
    "PodFailurePolicyOnExitCodesRequirement": {"operator", "values"},
    "PodFailurePolicyOnPodConditionsPattern": {"type", "status"},
    # meta/v1
    "OwnerReference": {"apiVersion", "kind", "name", "uid"},
    "LabelSelectorRequirement": {"key", "operator"},
    "Condition": {"type", "status", "lastTransitionTime"},
    # metav1.Condition (PodDisruptionBudget's and Service's conditions): reason
    # and message carry no omitempty
    "MetaCondition": {"type", "status", "lastTransitionTime", "reason", "message"},
    # core/v1: nodes
    "NodeStatus": {"daemonEndpoints", "nodeInfo"},
    "NodeAddress": {"type", "address"},
    "NodeDaemonEndpoints": {"kubeletEndpoint"},
    "DaemonEndpoint": {"Port"},
    "NodeSystemInfo": {
        "machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
        "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion",
        "operatingSystem", "architecture",
    },
    "ContainerImage": {"names"},
    "Taint": {"key", "effect"},
    # core/v1: pod spec
    "PodTemplateSpec": {"metadata", "spec"},
    "PodSpec": {"containers"},
    "Container": {"name", "resources"},
    "ContainerPort": {"containerPort"},
    "EnvVar": {"name"},
    "ObjectFieldSelector": {"fieldPath"},
    "ResourceFieldSelector": {"resource", "divisor"},
    "ConfigMapKeySelector": {"key"},
    "SecretKeySelector": {"key"},
    "VolumeMount": {"name", "mountPath"},
    "HTTPGetAction": {"port"},
    "HTTPHeader": {"name", "value"},
    "TCPSocketAction": {"port"},
    "GRPCAction": {"port", "service"},
    "SleepAction": {"seconds"},
    "SeccompProfile": {"type"},
    "Sysctl": {"name", "value"},
    "HostAlias": {"ip"},
    "PodReadinessGate": {"conditionType"},
    "TopologySpreadConstraint": {"maxSkew", "topologyKey", "whenUnsatisfiable"},
    "NodeSelector": {"nodeSelectorTerms"},
    "NodeSelectorRequirement": {"key", "operator"},
    "PreferredSchedulingTerm": {"weight", "preference"},
    "PodAffinityTerm": {"topologyKey"},
    "WeightedPodAffinityTerm": {"weight", "podAffinityTerm"},
    "Volume": {"name"},
    "HostPathVolumeSource": {"path"},
    "KeyToPath": {"key", "path"},
    "PersistentVolumeClaimVolumeSource": {"claimName"},
    "DownwardAPIVolumeFile": {"path"},
    "ProjectedVolumeSource": {"sources"},
    "ServiceAccountTokenProjection": {"path"},
    # core/v1: pod status
    "HostIP": {"ip"},
    "PodIP": {"ip"},
    "ContainerStatus": {
        "name", "state", "lastState", "ready", "restartCount", "image", "imageID",
    },
    "ContainerStateRunning": {"startedAt"},
    "ContainerStateTerminated": {"exitCode", "startedAt", "finishedAt"},
    # core/v1: volumes and claims
    "PersistentVolumeClaimSpec": {"resources"},
    "LocalVolumeSource": {"path"},
    "NFSVolumeSource": {"server", "path"},
    "TypedLocalObjectReference": {"apiGroup", "kind", "name"},
    # core/v1: the rest
    "ReplicationControllerStatus": {"replicas"},
    "ServicePort": {"port", "targetPort"},
    "ServiceStatus": {"loadBalancer"},
    "EndpointAddress": {"ip"},
    "EndpointPort": {"port"},
    "EventSeries": {"lastObservedTime"},
    # apps/v1
    "ReplicaSetSpec": {"selector", "template"},
    "ReplicaSetStatus": {"replicas"},
    "DeploymentSpec": {"selector", "template", "strategy"},
    "DaemonSet": _OBJECT,
    "DaemonSetSpec": {"selector", "template", "updateStrategy"},
    "DaemonSetStatus": {
        "currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
    },
    "StatefulSet": _OBJECT,
    "StatefulSetSpec": {"selector", "template", "serviceName", "updateStrategy"},
    "StatefulSetStatus": {"replicas", "availableReplicas"},
    "ControllerRevision": {"metadata", "revision"},
    # scheduling/v1, policy/v1
    "PriorityClass": {"metadata", "value"},
    "PodDisruptionBudget": _OBJECT,
    "PodDisruptionBudgetStatus": {
        "disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods",
    },
    "Eviction": {"metadata"},
    # autoscaling/v2
    "HorizontalPodAutoscaler": _OBJECT,
    "HorizontalPodAutoscalerSpec": {"scaleTargetRef", "maxReplicas"},
    "CrossVersionObjectReference": {"kind", "name"},
    "MetricSpec": {"type"},
    "ResourceMetricSource": {"name", "target"},
    "MetricTarget": {"type"},
    "HPAScalingPolicy": {"type", "value", "periodSeconds"},
    "HorizontalPodAutoscalerStatus": {"desiredReplicas"},
    # autoscaling/v1 (the V1 messages)
    "HorizontalPodAutoscalerV1": _OBJECT,
    "HorizontalPodAutoscalerSpecV1": {"scaleTargetRef", "maxReplicas"},
    "HorizontalPodAutoscalerStatusV1": {"currentReplicas", "desiredReplicas"},
    "MetricStatus": {"type"},
    "ResourceMetricStatus": {"name", "current"},
    # storage/v1
    "TopologySelectorLabelRequirement": {"key", "values"},
    # rbac/v1
    "PolicyRule": {"verbs"},
    "Subject": {"kind", "name"},
    "RoleRef": {"apiGroup", "kind", "name"},
    "CustomResourceDefinition": {"metadata", "spec", "status"},
    "CustomResourceDefinitionSpec": {"group", "names", "scope", "versions"},
    "CustomResourceDefinitionNames": {"plural", "kind"},
    "CustomResourceDefinitionVersion": {"name", "served", "storage"},
    "CustomResourceSubresourceScale": {"specReplicasPath", "statusReplicasPath"},
    "CustomResourceColumnDefinition": {"name", "type", "jsonPath"},
    "CustomResourceConversion": {"strategy"},
    "CustomResourceDefinitionStatus": {"acceptedNames", "storedVersions"},
    # shoal's generic message for custom objects: metadata as every object's
    "CustomObject": {"metadata"},
}  # fmt: skip

# Go pointers without omitempty, written null when nil (an optional scalar
# is null by being `optional`; messages need `nullable`).
KUBERNETES_NULLABLE = {
    "ReplicaSetSpec.selector",
    "DeploymentSpec.selector",
    "DaemonSetSpec.selector",
    "StatefulSetSpec.selector",
}


def _messages() -> dict[str, Descriptor]:
    """Every message a registered kind reaches, by name."""
    found: dict[str, Descriptor] = {}

    def walk(desc: Descriptor) -> None:
        if desc.full_name in found or not desc.full_name.startswith("shoal."):
            return
        found[desc.full_name] = desc
        for field in desc.fields:
            if field.message_type is not None and not field.message_type.GetOptions().map_entry:
                walk(field.message_type)

    for kind in kinds.all_kinds():
        walk(kind.message.DESCRIPTOR)
    walk(apiextensions_pb2.CustomObject.DESCRIPTOR)  # every custom kind's message
    return {desc.name: desc for desc in found.values()}


def test_every_message_in_the_table_exists() -> None:
    messages = _messages()
    assert set(KUBERNETES_ALWAYS) <= set(messages)
    for name, fields in KUBERNETES_ALWAYS.items():
        assert fields <= {f.json_name for f in messages[name].fields}, name


def test_always_marks_match_kubernetes_go_types() -> None:
    marked = {
        name: {f.json_name for f in always_fields(desc)} for name, desc in _messages().items()
    }
    assert {k: v for k, v in marked.items() if v} == KUBERNETES_ALWAYS


def test_nullable_marks_match_kubernetes_go_types() -> None:
    nullable = {
        f"{name}.{f.json_name}"
        for name, desc in _messages().items()
        for f in desc.fields
        if is_nullable(f)
    }
    assert nullable == KUBERNETES_NULLABLE


def _check_written(body: dict[str, Any], desc: Descriptor, path: str) -> None:
    """Every `always` field is in the body, recursively through what is there."""
    for field in always_fields(desc):
        assert field.json_name in body, f"{path}.{field.json_name}"
    for field in desc.fields:
        value = body.get(field.json_name)
        sub = field.message_type
        if value is None or sub is None or sub.GetOptions().map_entry:
            continue
        if sub.full_name.startswith("google."):
            continue
        for i, item in enumerate(value if field.is_repeated else [value]):
            _check_written(item, sub, f"{path}.{field.json_name}[{i}]")


def test_to_dict_writes_every_always_field_of_every_kind() -> None:
    for kind in kinds.all_kinds():
        if kinds.generic_message(kind.message) is not None:
            continue  # a CRD test's custom kind: its JSON is the object's own
        body = to_dict(kind.message())
        _check_written(body, kind.message.DESCRIPTOR, kind.kind)
        read = from_dict(body)
        read.ClearField("api_version")
        read.ClearField("kind")
        assert read.SerializeToString() == b"", kind.kind


def test_zero_values_as_kubernetes_writes_them() -> None:
    pod = core_pb2.Pod()
    pod.status.container_statuses.add(name="web", image="nginx")
    pod.spec.containers.add(name="web", image="nginx")
    body = to_dict(pod)
    status = body["status"]["containerStatuses"][0]
    assert (status["restartCount"], status["ready"], status["imageID"]) == (0, False, "")
    assert status["state"] == {} and "containerID" not in status and "started" not in status
    assert body["spec"]["containers"][0]["resources"] == {}
    assert "creationTimestamp" not in body["metadata"]

    deployment = to_dict(apps_pb2.Deployment())
    assert deployment["spec"]["selector"] is None  # a nil *LabelSelector
    assert deployment["spec"]["template"] == {"metadata": {}, "spec": {"containers": []}}
    assert deployment["status"] == {}
    assert to_dict(apps_pb2.ReplicaSet())["status"] == {"replicas": 0}

    service = to_dict(core_pb2.Service())
    assert service["status"] == {"loadBalancer": {}}
    node = to_dict(core_pb2.Node())
    assert node["status"]["nodeInfo"]["kubeProxyVersion"] == ""
    assert node["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 0}}
    event = to_dict(core_pb2.Event())
    assert event["eventTime"] is None and event["reportingComponent"] == ""
    assert to_dict(rbac_pb2.Role())["rules"] == []


def test_zeros_read_back_as_unset() -> None:
    """An object read, patched and written back stays byte for byte the same:
    the API server's no-op-update check and generation count rely on it."""
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "creationTimestamp": None},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {},
            "template": {
                "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "resources": {},
                            "env": [
                                {
                                    "name": "CPU",
                                    "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}},
                                }
                            ],
                        }
                    ]
                },
            },
        },
        "status": {},
    }
    deployment = from_dict(doc)
    container = deployment.spec.template.spec.containers[0]
    assert not container.HasField("resources") and not deployment.HasField("status")
    assert not deployment.spec.HasField("strategy")
    out = to_dict(deployment)
    assert out["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"][
        "resourceFieldRef"
    ] == {"resource": "limits.cpu", "divisor": "0"}
    assert from_dict(out).SerializeToString(deterministic=True) == deployment.SerializeToString(
        deterministic=True
    )
    # An empty selector keeps its meaning (select everything): it is a pointer.
    doc["spec"]["selector"] = {}
    assert from_dict(doc).spec.HasField("selector")


def _client_class(kind: kinds.Kind) -> str:
    """The official client's model: V1Pod, V2HorizontalPodAutoscaler..."""
    if kind.kind == "Event":
        return "CoreV1Event"
    return f"{kind.version.capitalize()}{kind.kind}"


def test_the_official_python_client_reads_every_manifest() -> None:
    """Its models (from Kubernetes' OpenAPI) refuse an object without a
    field Kubernetes always writes: every test manifest, written by to_dict,
    passes them."""
    client = require_module("kubernetes.client")
    api = client.ApiClient()
    documents = [
        doc for path in sorted(MANIFESTS.glob("*.yaml")) for doc in load_documents(path.read_text())
    ]
    for doc in documents:
        message = from_dict(doc)
        kind = kinds.for_message(message)
        api.deserialize(json.dumps(to_dict(message)), _client_class(kind), "application/json")
