"""The protobuf schema of the Kubernetes objects kubectl's ``create``
generators send: per message, field number -> (JSON name, kind, shape).

Field numbers are Kubernetes' public API (k8s.io/api ``generated.proto``).
Only what the generators and plain objects use is here; a field not listed
is refused by the decoder rather than dropped. ``pointer`` marks the Go
pointer fields, whose zero value (``replicas: 0``) is meaningful; map fields
name their entry message ({key = 1, value = 2})."""

from __future__ import annotations

from typing import NamedTuple


class Field(NamedTuple):
    name: str
    kind: str  # "string" | "bytes" | "int" | "bool" | a message name
    repeated: bool = False
    map: bool = False
    pointer: bool = False


def _s(name: str) -> Field:
    return Field(name, "string")


def _i(name: str, pointer: bool = False) -> Field:
    return Field(name, "int", pointer=pointer)


def _b(name: str, pointer: bool = False) -> Field:
    return Field(name, "bool", pointer=pointer)


def _m(name: str, kind: str, pointer: bool = False) -> Field:
    return Field(name, kind, pointer=pointer)


def _list(name: str, kind: str = "string") -> Field:
    return Field(name, kind, repeated=True)


def _map(name: str, entry: str = "StringEntry") -> Field:
    return Field(name, entry, map=True)


META: dict[str, dict[int, Field]] = {
    "TypeMeta": {1: _s("apiVersion"), 2: _s("kind")},
    "StringEntry": {1: _s("key"), 2: _s("value")},
    "BytesEntry": {1: _s("key"), 2: Field("value", "bytes")},
    "QuantityEntry": {1: _s("key"), 2: _m("value", "Quantity")},
    "Time": {1: _i("seconds"), 2: _i("nanos")},
    "Quantity": {1: _s("string")},
    "IntOrString": {1: _i("type"), 2: _i("intVal"), 3: _s("strVal")},
    "ObjectMeta": {
        1: _s("name"),
        2: _s("generateName"),
        3: _s("namespace"),
        4: _s("selfLink"),
        5: _s("uid"),
        6: _s("resourceVersion"),
        7: _i("generation"),
        8: _m("creationTimestamp", "Time"),
        11: _map("labels"),
        12: _map("annotations"),
        13: _list("ownerReferences", "OwnerReference"),
        14: _list("finalizers"),
    },
    "OwnerReference": {
        1: _s("kind"),
        3: _s("name"),
        4: _s("uid"),
        5: _s("apiVersion"),
        6: _b("controller", pointer=True),
        7: _b("blockOwnerDeletion", pointer=True),
    },
    "LabelSelector": {
        1: _map("matchLabels"),
        2: _list("matchExpressions", "LabelSelectorRequirement"),
    },
    "LabelSelectorRequirement": {1: _s("key"), 2: _s("operator"), 3: _list("values")},
}

CORE: dict[str, dict[int, Field]] = {
    "Namespace": {
        1: _m("metadata", "ObjectMeta"),
        2: _m("spec", "NamespaceSpec"),
        3: _m("status", "NamespaceStatus"),
    },
    "NamespaceSpec": {1: _list("finalizers")},
    "NamespaceStatus": {1: _s("phase")},
    "ConfigMap": {
        1: _m("metadata", "ObjectMeta"),
        2: _map("data"),
        3: _map("binaryData", "BytesEntry"),
        4: _b("immutable", pointer=True),
    },
    "Secret": {
        1: _m("metadata", "ObjectMeta"),
        2: _map("data", "BytesEntry"),
        3: _s("type"),
        4: _map("stringData"),
        5: _b("immutable", pointer=True),
    },
    "ServiceAccount": {
        1: _m("metadata", "ObjectMeta"),
        2: _list("secrets", "ObjectReference"),
        3: _list("imagePullSecrets", "LocalObjectReference"),
        4: _b("automountServiceAccountToken", pointer=True),
    },
    "ObjectReference": {
        1: _s("kind"),
        2: _s("namespace"),
        3: _s("name"),
        4: _s("uid"),
        5: _s("apiVersion"),
        6: _s("resourceVersion"),
        7: _s("fieldPath"),
    },
    "LocalObjectReference": {1: _s("name")},
    "Service": {
        1: _m("metadata", "ObjectMeta"),
        2: _m("spec", "ServiceSpec"),
        3: _m("status", "ServiceStatus"),
    },
    "ServiceSpec": {
        1: _list("ports", "ServicePort"),
        2: _map("selector"),
        3: _s("clusterIP"),
        4: _s("type"),
        5: _list("externalIPs"),
        7: _s("sessionAffinity"),
        8: _s("loadBalancerIP"),
        10: _s("externalName"),
        11: _s("externalTrafficPolicy"),
        12: _i("healthCheckNodePort"),
        13: _b("publishNotReadyAddresses"),
        17: _s("ipFamilyPolicy"),
        18: _list("clusterIPs"),
        19: _list("ipFamilies"),
        22: _s("internalTrafficPolicy"),
    },
    "ServicePort": {
        1: _s("name"),
        2: _s("protocol"),
        3: _i("port"),
        4: _m("targetPort", "IntOrString"),
        5: _i("nodePort"),
        6: Field("appProtocol", "string", pointer=True),
    },
    "ServiceStatus": {1: _m("loadBalancer", "LoadBalancerStatus")},
    "LoadBalancerStatus": {},
}

POD: dict[str, dict[int, Field]] = {
    "PodTemplateSpec": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "PodSpec")},
    "PodSpec": {
        2: _list("containers", "Container"),
        3: _s("restartPolicy"),
        4: _i("terminationGracePeriodSeconds", pointer=True),
        5: _i("activeDeadlineSeconds", pointer=True),
        6: _s("dnsPolicy"),
        7: _map("nodeSelector"),
        8: _s("serviceAccountName"),
        9: _s("serviceAccount"),
        10: _s("nodeName"),
        11: _b("hostNetwork"),
        12: _b("hostPID"),
        13: _b("hostIPC"),
        15: _list("imagePullSecrets", "LocalObjectReference"),
        16: _s("hostname"),
        17: _s("subdomain"),
        19: _s("schedulerName"),
        20: _list("initContainers", "Container"),
        21: _b("automountServiceAccountToken", pointer=True),
        24: _s("priorityClassName"),
    },
    "Container": {
        1: _s("name"),
        2: _s("image"),
        3: _list("command"),
        4: _list("args"),
        5: _s("workingDir"),
        6: _list("ports", "ContainerPort"),
        7: _list("env", "EnvVar"),
        8: _m("resources", "ResourceRequirements"),
        13: _s("terminationMessagePath"),
        14: _s("imagePullPolicy"),
        16: _b("stdin"),
        17: _b("stdinOnce"),
        18: _b("tty"),
        20: _s("terminationMessagePolicy"),
    },
    "ContainerPort": {
        1: _s("name"),
        2: _i("hostPort"),
        3: _i("containerPort"),
        4: _s("protocol"),
        5: _s("hostIP"),
    },
    "EnvVar": {1: _s("name"), 2: _s("value")},
    "ResourceRequirements": {
        1: _map("limits", "QuantityEntry"),
        2: _map("requests", "QuantityEntry"),
    },
}

APPS: dict[str, dict[int, Field]] = {
    "Deployment": {
        1: _m("metadata", "ObjectMeta"),
        2: _m("spec", "DeploymentSpec"),
        3: _m("status", "DeploymentStatus"),
    },
    "DeploymentSpec": {
        1: _i("replicas", pointer=True),
        2: _m("selector", "LabelSelector", pointer=True),
        3: _m("template", "PodTemplateSpec"),
        4: _m("strategy", "DeploymentStrategy"),
        5: _i("minReadySeconds"),
        6: _i("revisionHistoryLimit", pointer=True),
        7: _b("paused"),
        9: _i("progressDeadlineSeconds", pointer=True),
    },
    "DeploymentStrategy": {1: _s("type"), 2: _m("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {
        1: _m("maxUnavailable", "IntOrString"),
        2: _m("maxSurge", "IntOrString"),
    },
    # Status fields arrive at their zero values on a create; the API ignores them.
    "DeploymentStatus": {
        1: _i("observedGeneration"),
        2: _i("replicas"),
        3: _i("updatedReplicas"),
        4: _i("availableReplicas"),
        5: _i("unavailableReplicas"),
        7: _i("readyReplicas"),
    },
}

# batch/v1: what `kubectl create job` and `create cronjob` send.
BATCH: dict[str, dict[int, Field]] = {
    "Job": {
        1: _m("metadata", "ObjectMeta"),
        2: _m("spec", "JobSpec"),
        3: _m("status", "JobStatus"),
    },
    "JobSpec": {
        1: _i("parallelism", pointer=True),
        2: _i("completions", pointer=True),
        3: _i("activeDeadlineSeconds", pointer=True),
        4: _m("selector", "LabelSelector", pointer=True),
        5: _b("manualSelector", pointer=True),
        6: _m("template", "PodTemplateSpec"),
        7: _i("backoffLimit", pointer=True),
        8: _i("ttlSecondsAfterFinished", pointer=True),
        9: Field("completionMode", "string", pointer=True),
        10: _b("suspend", pointer=True),
        12: _i("backoffLimitPerIndex", pointer=True),
        13: _i("maxFailedIndexes", pointer=True),
        14: Field("podReplacementPolicy", "string", pointer=True),
        15: Field("managedBy", "string", pointer=True),
        16: _m("successPolicy", "SuccessPolicy", pointer=True),
    },
    # What `create job --from=cronjob/NAME` copies from a cronjob's template.
    "SuccessPolicy": {1: _list("rules", "SuccessPolicyRule")},
    "SuccessPolicyRule": {
        1: Field("succeededIndexes", "string", pointer=True),
        2: _i("succeededCount", pointer=True),
    },
    # Status fields arrive at their zero values on a create; the API ignores them.
    "JobStatus": {
        4: _i("active"),
        5: _i("succeeded"),
        6: _i("failed"),
        7: _s("completedIndexes"),
    },
    "CronJob": {
        1: _m("metadata", "ObjectMeta"),
        2: _m("spec", "CronJobSpec"),
        3: _m("status", "CronJobStatus"),
    },
    "CronJobSpec": {
        1: _s("schedule"),
        2: _i("startingDeadlineSeconds", pointer=True),
        3: _s("concurrencyPolicy"),
        4: _b("suspend", pointer=True),
        5: _m("jobTemplate", "JobTemplateSpec"),
        6: _i("successfulJobsHistoryLimit", pointer=True),
        7: _i("failedJobsHistoryLimit", pointer=True),
        8: Field("timeZone", "string", pointer=True),
    },
    "JobTemplateSpec": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "JobSpec")},
    "CronJobStatus": {},
}

# autoscaling/v1: what `kubectl autoscale` sends (the v2 message differs
# from field 4 on, which the decoder then refuses by its wire type).
AUTOSCALING: dict[str, dict[int, Field]] = {
    "HorizontalPodAutoscaler": {
        1: _m("metadata", "ObjectMeta"),
        2: _m("spec", "HorizontalPodAutoscalerSpec"),
        3: _m("status", "HorizontalPodAutoscalerStatus"),
    },
    "HorizontalPodAutoscalerSpec": {
        1: _m("scaleTargetRef", "CrossVersionObjectReference"),
        2: _i("minReplicas", pointer=True),
        3: _i("maxReplicas"),
        4: _i("targetCPUUtilizationPercentage", pointer=True),
    },
    "CrossVersionObjectReference": {1: _s("kind"), 2: _s("name"), 3: _s("apiVersion")},
    # Status fields arrive at their zero values on a create; the API ignores them.
    "HorizontalPodAutoscalerStatus": {
        1: _i("observedGeneration", pointer=True),
        2: _m("lastScaleTime", "Time"),
        3: _i("currentReplicas"),
        4: _i("desiredReplicas"),
        5: _i("currentCPUUtilizationPercentage", pointer=True),
    },
}

RBAC: dict[str, dict[int, Field]] = {
    "Role": {1: _m("metadata", "ObjectMeta"), 2: _list("rules", "PolicyRule")},
    "ClusterRole": {
        1: _m("metadata", "ObjectMeta"),
        2: _list("rules", "PolicyRule"),
        3: _m("aggregationRule", "AggregationRule", pointer=True),
    },
    "AggregationRule": {1: _list("clusterRoleSelectors", "LabelSelector")},
    "PolicyRule": {
        1: _list("verbs"),
        2: _list("apiGroups"),
        3: _list("resources"),
        4: _list("resourceNames"),
        5: _list("nonResourceURLs"),
    },
    "RoleBinding": {
        1: _m("metadata", "ObjectMeta"),
        2: _list("subjects", "Subject"),
        3: _m("roleRef", "RoleRef"),
    },
    "Subject": {1: _s("kind"), 2: _s("apiGroup"), 3: _s("name"), 4: _s("namespace")},
    "RoleRef": {1: _s("apiGroup"), 2: _s("kind"), 3: _s("name")},
}
RBAC["ClusterRoleBinding"] = RBAC["RoleBinding"]

# authorization.k8s.io/v1: what `kubectl auth can-i` sends.
_REVIEW = {
    1: _m("metadata", "ObjectMeta"),
    2: _m("spec", "SubjectAccessReviewSpec"),
    3: _m("status", "SubjectAccessReviewStatus"),
}
AUTHORIZATION: dict[str, dict[int, Field]] = {
    "SelfSubjectAccessReview": {**_REVIEW, 2: _m("spec", "SelfSubjectAccessReviewSpec")},
    "SubjectAccessReview": _REVIEW,
    "LocalSubjectAccessReview": _REVIEW,
    "SelfSubjectRulesReview": {
        1: _m("metadata", "ObjectMeta"),
        2: _m("spec", "SelfSubjectRulesReviewSpec"),
        3: _m("status", "SubjectRulesReviewStatus"),
    },
    # Statuses arrive empty on a create; the answer replaces them.
    "SubjectAccessReviewStatus": {
        1: _b("allowed"),
        2: _s("reason"),
        3: _s("evaluationError"),
        4: _b("denied"),
    },
    "SubjectRulesReviewStatus": {
        1: _list("resourceRules", "ResourceRule"),
        2: _list("nonResourceRules", "NonResourceRule"),
        3: _b("incomplete"),
        4: _s("evaluationError"),
    },
    "SelfSubjectAccessReviewSpec": {
        1: _m("resourceAttributes", "ResourceAttributes", pointer=True),
        2: _m("nonResourceAttributes", "NonResourceAttributes", pointer=True),
    },
    "SubjectAccessReviewSpec": {
        1: _m("resourceAttributes", "ResourceAttributes", pointer=True),
        2: _m("nonResourceAttributes", "NonResourceAttributes", pointer=True),
        3: _s("user"),
        4: _list("groups"),
        6: _s("uid"),
    },
    "SelfSubjectRulesReviewSpec": {1: _s("namespace")},
    "ResourceAttributes": {
        1: _s("namespace"),
        2: _s("verb"),
        3: _s("group"),
        4: _s("version"),
        5: _s("resource"),
        6: _s("subresource"),
        7: _s("name"),
    },
    "NonResourceAttributes": {1: _s("path"), 2: _s("verb")},
    "ResourceRule": {
        1: _list("verbs"),
        2: _list("apiGroups"),
        3: _list("resources"),
        4: _list("resourceNames"),
    },
    "NonResourceRule": {1: _list("verbs"), 2: _list("nonResourceURLs")},
}

# policy/v1 and scheduling.k8s.io/v1: what `kubectl create poddisruptionbudget`
# and `create priorityclass` send.
POLICY: dict[str, dict[int, Field]] = {
    "PodDisruptionBudget": {
        1: _m("metadata", "ObjectMeta"),
        2: _m("spec", "PodDisruptionBudgetSpec"),
        3: _m("status", "PodDisruptionBudgetStatus"),
    },
    "PodDisruptionBudgetSpec": {
        1: _m("minAvailable", "IntOrString", pointer=True),
        2: _m("selector", "LabelSelector", pointer=True),
        3: _m("maxUnavailable", "IntOrString", pointer=True),
        4: Field("unhealthyPodEvictionPolicy", "string", pointer=True),
    },
    # Status fields arrive at their zero values on a create; the API ignores them.
    "PodDisruptionBudgetStatus": {
        1: _i("observedGeneration"),
        2: _map("disruptedPods", "TimeEntry"),
        3: _i("disruptionsAllowed"),
        4: _i("currentHealthy"),
        5: _i("desiredHealthy"),
        6: _i("expectedPods"),
        7: _list("conditions", "Condition"),
    },
    "TimeEntry": {1: _s("key"), 2: _m("value", "Time")},
    "Condition": {
        1: _s("type"),
        2: _s("status"),
        3: _i("observedGeneration"),
        4: _m("lastTransitionTime", "Time"),
        5: _s("reason"),
        6: _s("message"),
    },
    "PriorityClass": {
        1: _m("metadata", "ObjectMeta"),
        2: _i("value", pointer=True),  # no omitempty: value 0 is written
        3: _b("globalDefault"),
        4: _s("description"),
        5: Field("preemptionPolicy", "string", pointer=True),
    },
}

MESSAGES: dict[str, dict[int, Field]] = {
    **META, **CORE, **POD, **APPS, **BATCH, **AUTOSCALING, **RBAC, **AUTHORIZATION, **POLICY
}  # fmt: skip
# the kinds a request body may hold
OBJECTS = frozenset(
    {"Namespace", "ConfigMap", "Secret", "ServiceAccount", "Service", "Deployment",
     "Job", "CronJob", "HorizontalPodAutoscaler", "PodDisruptionBudget", "PriorityClass",
     "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "SelfSubjectAccessReview",
     "SubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectRulesReview"}
)  # fmt: skip
