"""What the protos cannot say about Kubernetes' schemas: which string fields
hold quantities, which fields Kubernetes marks required, the standard
descriptions of apiVersion/kind/metadata, and Kubernetes' schemas of Time,
IntOrString and Quantity."""

from __future__ import annotations

from typing import Any

_CONVENTIONS = "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"

# descriptions of a kind's standard fields, when the proto has no comment
# ({kind} is the kind's name)
FIELD_DEFAULTS = {
    "apiVersion": (
        "APIVersion defines the versioned schema of this representation of an object. "
        "Servers should convert recognized schemas to the latest internal value, and may "
        f"reject unrecognized values. More info: {_CONVENTIONS}#resources"
    ),
    "kind": (
        "Kind is a string value representing the REST resource this object represents. "
        "Servers may infer this from the endpoint the client submits requests to. Cannot be "
        f"updated. In CamelCase. More info: {_CONVENTIONS}#types-kinds"
    ),
    "metadata": f"Standard object's metadata. More info: {_CONVENTIONS}#metadata",
    "spec": (
        "Specification of the desired behavior of the {kind}. More info: "
        f"{_CONVENTIONS}#spec-and-status"
    ),
    "status": (
        "Most recently observed status of the {kind}. This data may not be up to date. "
        f"Populated by the system. Read-only. More info: {_CONVENTIONS}#spec-and-status"
    ),
}

TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
# protobuf well-known types -> the Kubernetes type they stand for in shoal's protos
WELL_KNOWN = {
    "google.protobuf.Timestamp": TIME,
    "google.protobuf.Value": INT_OR_STRING,  # every Value field is an IntOrString
}

# message -> the JSON names of the fields Kubernetes' OpenAPI marks required
REQUIRED: dict[str, tuple[str, ...]] = {
    "shoal.v1.PodSpec": ("containers",),
    "shoal.v1.Container": ("name",),
    "shoal.v1.ContainerPort": ("containerPort",),
    "shoal.v1.EnvVar": ("name",),
    "shoal.v1.Volume": ("name",),
    "shoal.v1.VolumeMount": ("name", "mountPath"),
    "shoal.v1.KeyToPath": ("key", "path"),
    "shoal.v1.ConfigMapKeySelector": ("key",),
    "shoal.v1.SecretKeySelector": ("key",),
    "shoal.v1.ObjectFieldSelector": ("fieldPath",),
    "shoal.v1.ResourceFieldSelector": ("resource",),
    "shoal.v1.HTTPGetAction": ("port",),
    "shoal.v1.TCPSocketAction": ("port",),
    "shoal.v1.HostAlias": ("ip",),
    "shoal.v1.Taint": ("key", "effect"),
    "shoal.v1.NodeAddress": ("type", "address"),
    "shoal.v1.ServicePort": ("port",),
    "shoal.v1.EndpointPort": ("port",),
    "shoal.v1.EndpointAddress": ("ip",),
    "shoal.v1.Event": ("metadata", "involvedObject"),
    "shoal.v1.Binding": ("target",),
    "shoal.v1.ContainerStatus": ("name", "ready", "restartCount", "image", "imageID"),
    "shoal.v1.NodeSelector": ("nodeSelectorTerms",),
    "shoal.v1.NodeSelectorRequirement": ("key", "operator"),
    "shoal.v1.PreferredSchedulingTerm": ("weight", "preference"),
    "shoal.v1.PodAffinityTerm": ("topologyKey",),
    "shoal.v1.WeightedPodAffinityTerm": ("weight", "podAffinityTerm"),
    "shoal.v1.TopologySpreadConstraint": ("maxSkew", "topologyKey", "whenUnsatisfiable"),
    "shoal.v1.PodReadinessGate": ("conditionType",),
    "shoal.v1.DeploymentSpec": ("selector", "template"),
    "shoal.v1.ReplicaSetSpec": ("selector",),
    "shoal.v1.DaemonSetSpec": ("selector", "template"),
    "shoal.v1.StatefulSetSpec": ("selector", "template"),
    "shoal.v1.ControllerRevision": ("revision",),
    "shoal.v1.LabelSelectorRequirement": ("key", "operator"),
    "shoal.v1.OwnerReference": ("apiVersion", "kind", "name", "uid"),
    "shoal.v1.PolicyRule": ("verbs",),
    "shoal.v1.Subject": ("kind", "name"),
    "shoal.v1.RoleRef": ("apiGroup", "kind", "name"),
    "shoal.v1.RoleBinding": ("roleRef",),
    "shoal.v1.ClusterRoleBinding": ("roleRef",),
}

_TIME_DOC = (
    "Time is a wrapper around time.Time which supports correct marshaling to YAML and "
    "JSON. Wrappers are provided for many of the factory methods that the time package "
    "offers."
)
_INT_OR_STRING_DOC = (
    "IntOrString is a type that can hold an int32 or a string. When used in JSON or YAML "
    "marshalling and unmarshalling, it produces or consumes the inner type. This allows you "
    "to have, for example, a JSON field that can accept a name or number."
)
_QUANTITY_DOC = (
    "Quantity is a fixed-point representation of a number. It provides convenient "
    "marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() "
    'accessors. Written as a number with an optional suffix: "128974848", "129e6", '
    '"129M", "123Mi", "500m" (binary Ki, Mi, Gi, Ti, Pi, Ei; decimal m, k, M, G, T, P, E).'
)


def well_known_schema(name: str, v3: bool) -> dict[str, Any]:
    """Kubernetes' own schema of Time, IntOrString or Quantity. v2 gives the
    two-typed ones type string (what v2 can say); v3 leaves it out, so that
    ``kubectl explain`` names the type, as it does against Kubernetes."""
    if name == TIME:
        return {"description": _TIME_DOC, "type": "string", "format": "date-time"}
    if name == INT_OR_STRING:
        schema = {"description": _INT_OR_STRING_DOC, "format": "int-or-string"}
        return {**schema, "x-kubernetes-int-or-string": True, **({} if v3 else {"type": "string"})}
    if name == QUANTITY:
        if v3:
            return {"description": _QUANTITY_DOC, "oneOf": [{"type": "string"}, {"type": "number"}]}
        return {"description": _QUANTITY_DOC, "type": "string"}
    raise KeyError(name)
