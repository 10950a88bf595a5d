"""The built-in roles, as Kubernetes' bootstrap policy: ``cluster-admin``
(bound to ``system:masters``), the user-facing ``view``, ``edit`` and
``admin`` built by aggregation (view ⊂ edit ⊂ admin; view cannot read
secrets, edit cannot touch RBAC, admin can within a namespace), and
``system:node``, the rules the node authorizer applies to agents.

They are written on every server start when missing or changed, unless
their ``rbac.authorization.kubernetes.io/autoupdate`` annotation is
"false" (an operator's edit then sticks), as Kubernetes reconciles them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from google.protobuf import json_format
from shoal import errors, kinds
from shoal.api.v1 import rbac_pb2
from shoal.auth import ADMIN_GROUP

RBAC = "rbac.authorization.k8s.io"
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAP_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]


def _rule(verbs: list[str], groups: list[str], resources: list[str]) -> dict[str, Any]:
    return {"verbs": verbs, "apiGroups": groups, "resources": resources}


VIEW_RULES = [
    _rule(
        READ,
        [""],
        [
            "pods", "pods/log", "pods/status", "replicationcontrollers",
            "replicationcontrollers/scale", "replicationcontrollers/status", "services",
            "services/status", "endpoints", "events", "configmaps", "serviceaccounts",
            "namespaces", "namespaces/status", "bindings",
        ],
    ),
    _rule(
        READ,
        ["apps"],
        [
            "deployments", "deployments/scale", "deployments/status", "replicasets",
            "replicasets/scale", "replicasets/status",
        ],
    ),
    _rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    _rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    # metrics-server's system:aggregated-metrics-reader: `kubectl top` for viewers
    _rule(READ, ["metrics.k8s.io"], ["pods", "nodes"]),
]  # fmt: skip
EDIT_RULES = [
    _rule(
        WRITE,
        [""],
        [
            "pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "configmaps",
            "events", "replicationcontrollers", "replicationcontrollers/scale", "secrets",
            "serviceaccounts", "services", "services/proxy", "endpoints",
        ],
    ),
    _rule(
        READ,
        [""],
        ["secrets", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "services/proxy"],
    ),
    _rule(["impersonate"], [""], ["serviceaccounts"]),
    _rule(["create"], [""], ["pods/eviction"]),
    _rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
    _rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    _rule(
        WRITE,
        ["apps"],
        ["deployments", "deployments/scale", "deployments/rollback", "replicasets",
         "replicasets/scale"],
    ),
]  # fmt: skip
ADMIN_RULES = [
    _rule([*READ, *WRITE], [RBAC], ["roles", "rolebindings"]),
    _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
]
NODE_RULES = [
    _rule(READ, [""], ["nodes", "pods", "services", "endpoints", "namespaces"]),
    _rule(["create", "update", "patch"], [""], ["nodes", "nodes/status"]),
    _rule(["update", "patch"], [""], ["pods/status"]),
    _rule(["delete"], [""], ["pods"]),
    _rule(["create", "update", "patch"], [""], ["events"]),
    _rule(["get"], [""], ["secrets", "configmaps"]),
    _rule(["get", "create", "update", "patch", "delete"], ["coordination.k8s.io"], ["leases"]),
    # the agent's local-path provisioner (shoal.agent.provisioner): it reads
    # claims, volumes and classes, and makes and removes the volumes of its
    # own node (the node authorizer checks their node affinity)
    _rule(READ, [""], ["persistentvolumeclaims", "persistentvolumes"]),
    _rule(READ, ["storage.k8s.io"], ["storageclasses"]),
    _rule(["create", "delete"], [""], ["persistentvolumes"]),
]


def _aggregate_label(role: str) -> str:
    return f"rbac.authorization.k8s.io/aggregate-to-{role}"


def _cluster_role(
    name: str,
    rules: list[dict[str, Any]],
    labels: dict[str, str] | None = None,
    aggregate: str = "",
) -> rbac_pb2.ClusterRole:
    doc: dict[str, Any] = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": {**BOOTSTRAP_LABEL, **(labels or {})},
            "annotations": {AUTOUPDATE: "true"},
        },
        "rules": rules,
    }
    if aggregate:
        selector = {"matchLabels": {_aggregate_label(aggregate): "true"}}
        doc["aggregationRule"] = {"clusterRoleSelectors": [selector]}
    return json_format.ParseDict(doc, rbac_pb2.ClusterRole())


def cluster_roles() -> list[rbac_pb2.ClusterRole]:
    every = [_rule(["*"], ["*"], ["*"]), {"verbs": ["*"], "nonResourceURLs": ["*"]}]
    return [
        _cluster_role("cluster-admin", every),
        _cluster_role("system:aggregate-to-view", VIEW_RULES, {_aggregate_label("view"): "true"}),
        _cluster_role("system:aggregate-to-edit", EDIT_RULES, {_aggregate_label("edit"): "true"}),
        _cluster_role(
            "system:aggregate-to-admin", ADMIN_RULES, {_aggregate_label("admin"): "true"}
        ),
        _cluster_role("view", [], {_aggregate_label("edit"): "true"}, aggregate="view"),
        _cluster_role("edit", [], {_aggregate_label("admin"): "true"}, aggregate="edit"),
        _cluster_role("admin", [], aggregate="admin"),
        _cluster_role("system:node", NODE_RULES),
    ]


def cluster_role_bindings() -> list[rbac_pb2.ClusterRoleBinding]:
    doc = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": "cluster-admin",
            "labels": BOOTSTRAP_LABEL,
            "annotations": {AUTOUPDATE: "true"},
        },
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "name": ADMIN_GROUP, "apiGroup": RBAC}],
    }
    return [json_format.ParseDict(doc, rbac_pb2.ClusterRoleBinding())]


async def reconcile(registry: Any, want: Any) -> None:
    """Bring a built-in object back to its built-in content, unless an
    operator set its autoupdate annotation to "false"."""

    current = await registry.get(kinds.for_message(want), "", want.metadata.name)
    if current.metadata.annotations.get(AUTOUPDATE) == "false":
        return
    fresh = type(want)()
    fresh.CopyFrom(want)
    fresh.metadata.resource_version = current.metadata.resource_version
    fresh.metadata.annotations.update(current.metadata.annotations)
    fresh.metadata.annotations[AUTOUPDATE] = "true"
    with contextlib.suppress(errors.ConflictError):  # another server did it
        await registry.update(fresh)


def policy_rules(rules: list[dict[str, Any]]) -> list[rbac_pb2.PolicyRule]:
    return [json_format.ParseDict(rule, rbac_pb2.PolicyRule()) for rule in rules]
