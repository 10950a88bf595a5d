"""What an update may not change: an object's identity (every kind, as
Kubernetes' checkName and ValidateObjectMetaUpdate) and, per kind, fields
Kubernetes' ValidateUpdate keeps fixed."""

from __future__ import annotations

from typing import Any

from shoal import errors
from shoal.kinds import Kind


def check_identity(kind: Kind, namespace: str, name: str, new: Any, old: Any) -> None:
    """A patch names its object in the request: the patched object must keep
    that name and namespace (else it would be stored under one key while
    saying another), and its uid. Kubernetes' words and codes: 400 for the
    name and namespace, 422 for the uid; an empty uid keeps the stored one."""
    m = new.metadata
    if m.name != name:
        raise errors.BadRequestError(
            f"the name of the object ({m.name}) does not match the name on the URL ({name})"
        )
    if kind.namespaced and m.namespace and m.namespace != namespace:
        raise errors.BadRequestError(
            f"the namespace of the object ({m.namespace}) does not match the namespace on "
            f"the URL ({namespace})"
        )
    if m.uid and m.uid != old.metadata.uid:
        causes = [("metadata.uid", f'Invalid value: "{m.uid}": field is immutable')]
        raise errors.invalid(kind.kind, name, causes)


def check_update(kind: Kind, old: Any, new: Any) -> None:
    causes: list[tuple[str, str]] = []
    if kind.kind == "Pod":
        causes += _pod_spec_update(old.spec, new.spec)
    elif kind.kind in ("ReplicaSet", "Deployment") and old.spec.selector != new.spec.selector:
        causes.append(("spec.selector", "Invalid value: field is immutable"))
    elif (
        kind.kind in ("ConfigMap", "Secret")
        and old.immutable
        and (old.data != new.data or not new.immutable)
    ):
        causes.append(("data", "Forbidden: field is immutable when `immutable` is set"))
    elif (
        kind.kind == "Service"
        and old.spec.cluster_ip
        and (new.spec.cluster_ip != old.spec.cluster_ip)
    ):
        causes.append(("spec.clusterIP", "Invalid value: field is immutable"))
    elif kind.kind in ("RoleBinding", "ClusterRoleBinding") and old.role_ref != new.role_ref:
        causes.append(("roleRef", "Invalid value: cannot change roleRef"))
    if causes:
        raise errors.invalid(kind.kind, new.metadata.name, causes, kind.group)


def _pod_spec_update(old: Any, new: Any) -> list[tuple[str, str]]:
    """A pod's spec is fixed once created, but for container images, the
    active deadline, added tolerations, and binding: nodeName set once."""
    if old.node_name and new.node_name != old.node_name:
        return [("spec.nodeName", "Invalid value: field is immutable once set")]
    a, b = type(old)(), type(new)()
    a.CopyFrom(old)
    b.CopyFrom(new)
    for spec in (a, b):
        spec.ClearField("node_name")
        spec.ClearField("active_deadline_seconds")
        for c in list(spec.containers) + list(spec.init_containers):
            c.image = ""
    kept = list(old.tolerations)
    if list(new.tolerations)[: len(kept)] == kept:
        a.ClearField("tolerations")
        b.ClearField("tolerations")
    if a != b:
        return [
            (
                "spec",
                "Forbidden: pod updates may not change fields other than "
                "`spec.containers[*].image`, `spec.initContainers[*].image`, "
                "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to "
                "existing tolerations)",
            )
        ]
    return []
