"""Validation of the RBAC kinds and ServiceAccount, as Kubernetes validates
them: names are path segments ("system:node" is fine), a binding's roleRef
names a Role or ClusterRole, each subject is a User, Group or ServiceAccount
(the last with a namespace)."""

from __future__ import annotations

from typing import Any

RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ("User", "Group", "ServiceAccount")
Causes = list[tuple[str, str]]


def validate_path_segment_name(name: str) -> list[str]:
    """Kubernetes' ValidatePathSegmentName: anything a URL path segment can hold."""
    if name in (".", ".."):
        return [f'may not be "{name}"']
    return [f'may not contain "{c}"' for c in ("/", "%") if c in name]


def validate_rules(rules: Any, *, cluster: bool) -> Causes:
    causes: Causes = []
    for i, rule in enumerate(rules):
        path = f"rules[{i}]"
        if not rule.verbs:
            causes.append(
                (f"{path}.verbs", "Required value: verbs must contain at least one value")
            )
        if rule.non_resource_urls and not cluster:
            causes.append(
                (
                    f"{path}.nonResourceURLs",
                    "Invalid value: namespaced rules cannot apply to non-resource URLs",
                )
            )
        if rule.non_resource_urls and rule.resources:
            causes.append(
                (
                    f"{path}.nonResourceURLs",
                    "Invalid value: rules cannot apply to both "
                    "regular resources and non-resource URLs",
                )
            )
        if not rule.non_resource_urls and not rule.resources:
            causes.append(
                (
                    f"{path}.resources",
                    "Required value: resource rules must supply at least one resource",
                )
            )
        if rule.resources and not rule.api_groups:
            causes.append(
                (
                    f"{path}.apiGroups",
                    "Required value: resource rules must supply at least one api group",
                )
            )
    return causes


def validate_role(role: Any) -> Causes:
    return validate_rules(role.rules, cluster=False)


def validate_cluster_role(role: Any) -> Causes:
    if role.HasField("aggregation_rule"):
        return []  # the server fills the rules from the selected roles
    return validate_rules(role.rules, cluster=True)


def validate_binding(binding: Any) -> Causes:
    causes: Causes = []
    ref = binding.role_ref
    allowed = ("Role", "ClusterRole") if binding.kind != "ClusterRoleBinding" else ("ClusterRole",)
    if ref.api_group != RBAC_GROUP:
        causes.append(
            (
                "roleRef.apiGroup",
                f'Unsupported value: "{ref.api_group}": supported values: "{RBAC_GROUP}"',
            )
        )
    if ref.kind not in allowed:
        quoted = ", ".join(f'"{k}"' for k in allowed)
        causes.append(
            ("roleRef.kind", f'Unsupported value: "{ref.kind}": supported values: {quoted}')
        )
    if not ref.name:
        causes.append(("roleRef.name", "Required value"))
    for i, subject in enumerate(binding.subjects):
        causes += _subject_causes(f"subjects[{i}]", subject)
    return causes


def _subject_causes(path: str, subject: Any) -> Causes:
    if subject.kind not in SUBJECT_KINDS:
        quoted = ", ".join(f'"{k}"' for k in SUBJECT_KINDS)
        return [
            (f"{path}.kind", f'Unsupported value: "{subject.kind}": supported values: {quoted}')
        ]
    causes: Causes = []
    if not subject.name:
        causes.append((f"{path}.name", "Required value"))
    if subject.kind == "ServiceAccount" and not subject.namespace:
        causes.append((f"{path}.namespace", "Required value"))
    if subject.kind != "ServiceAccount" and subject.api_group not in ("", RBAC_GROUP):
        causes.append(
            (
                f"{path}.apiGroup",
                f'Unsupported value: "{subject.api_group}": supported values: "{RBAC_GROUP}"',
            )
        )
    return causes
