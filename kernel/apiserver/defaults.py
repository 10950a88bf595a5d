"""Defaulting: fill in what a Kubernetes user may leave out, per kind.

Runs on create and update before validation, like Kubernetes' defaulters:
restartPolicy, imagePullPolicy from the image tag, the 25%/25% rolling update,
the not-ready/unreachable tolerations of 300 s, ...
"""

from __future__ import annotations

from typing import Any

from google.protobuf.struct_pb2 import Value

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300


def image_pull_policy(image: str) -> str:
    """Always for ``:latest`` or no tag, else IfNotPresent (a digest counts as a tag)."""
    if "@" in image:
        return "IfNotPresent"
    name = image.rsplit("/", 1)[-1]
    tag = name.split(":", 1)[1] if ":" in name else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def default_container(container: Any) -> None:
    c = container
    if not c.image_pull_policy:
        c.image_pull_policy = image_pull_policy(c.image)
    for port in c.ports:
        if not port.protocol:
            port.protocol = "TCP"


def default_pod_spec(spec: Any) -> None:
    s = spec
    if not s.restart_policy:
        s.restart_policy = "Always"
    if not s.HasField("termination_grace_period_seconds"):
        s.termination_grace_period_seconds = 30
    if not s.dns_policy:
        s.dns_policy = "ClusterFirst"
    if not s.scheduler_name:
        s.scheduler_name = "default-scheduler"
    for c in list(s.containers) + list(s.init_containers):
        default_container(c)


def default_tolerations(spec: Any) -> None:
    """The DefaultTolerationSeconds admission of Kubernetes: every pod tolerates
    a not-ready or unreachable node for 300 s unless it says otherwise."""
    tolerations = spec.tolerations
    for taint in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if any(
            (t.key == taint and t.effect in ("", "NoExecute"))
            or (not t.key and t.operator == "Exists")
            for t in tolerations
        ):
            continue
        tolerations.add(
            key=taint,
            operator="Exists",
            effect="NoExecute",
            toleration_seconds=DEFAULT_TOLERATION_SECONDS,
        )


def default_pod(pod: Any) -> None:
    default_pod_spec(pod.spec)
    default_tolerations(pod.spec)
    if not pod.status.phase:
        pod.status.phase = "Pending"


def _default_replicas(spec: Any) -> None:
    if not spec.HasField("replicas"):
        spec.replicas = 1


def default_replication_controller(rc: Any) -> None:
    spec = rc.spec
    _default_replicas(spec)
    # An RC without a selector selects its template's labels, and a template
    # without labels... gets none: validation then says so.
    if not spec.selector and spec.template.metadata.labels:
        spec.selector.update(spec.template.metadata.labels)
    if not rc.metadata.labels and spec.template.metadata.labels:
        rc.metadata.labels.update(spec.template.metadata.labels)
    default_pod_spec(spec.template.spec)


def default_replica_set(rs: Any) -> None:
    _default_replicas(rs.spec)
    default_pod_spec(rs.spec.template.spec)


def default_deployment(deploy: Any) -> None:
    spec = deploy.spec
    _default_replicas(spec)
    strategy = spec.strategy
    if not strategy.type:
        strategy.type = "RollingUpdate"
    if strategy.type == "RollingUpdate":
        rolling = strategy.rolling_update
        for field in ("max_surge", "max_unavailable"):
            if not rolling.HasField(field):
                getattr(rolling, field).CopyFrom(Value(string_value="25%"))
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = 10
    if not spec.HasField("progress_deadline_seconds"):
        spec.progress_deadline_seconds = 600
    default_pod_spec(spec.template.spec)


def default_service(svc: Any) -> None:
    spec = svc.spec
    if not spec.type:
        spec.type = "ClusterIP"
    if not spec.session_affinity:
        spec.session_affinity = "None"
    for port in spec.ports:
        if not port.protocol:
            port.protocol = "TCP"
        if not port.HasField("target_port"):
            port.target_port.number_value = port.port


def default_namespace(ns: Any) -> None:
    if not ns.status.phase:
        ns.status.phase = "Active"


def default_secret(secret: Any) -> None:
    """``stringData`` is a write-only convenience: it lands in ``data``."""
    if not secret.type:
        secret.type = "Opaque"
    for key, value in secret.string_data.items():
        secret.data[key] = value.encode()
    secret.ClearField("string_data")
