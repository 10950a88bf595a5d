"""Validation per kind: each problem is a ``(field path, message)`` pair, so
an error names the field, as Kubernetes' does (``spec.containers[0].image:
Required value``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from shoal import validation as names
from shoal.apiserver.validate_spread import validate_topology_spread
from shoal.kinds import Kind
from shoal.quantity import QuantityError, parse_quantity

Causes = list[tuple[str, str]]

MAX_OBJECT_BYTES = 1536 * 1024  # Kubernetes (etcd) rejects objects past ~1.5 MiB
REQUIRED = "Required value"
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("TCP", "UDP", "SCTP")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def unsupported(value: str, allowed: Iterable[str]) -> str:
    quoted = ", ".join(f'"{a}"' for a in allowed)
    return f'Unsupported value: "{value}": supported values: {quoted}'


def validate_metadata(meta: Any, *, name_check: Callable[[str], list[str]]) -> Causes:
    causes: Causes = []
    if not meta.name:
        causes.append(("metadata.name", REQUIRED))
    else:
        causes += [
            ("metadata.name", f'Invalid value: "{meta.name}": {m}') for m in name_check(meta.name)
        ]
    return causes + validate_labels_and_annotations("metadata", meta)


def validate_labels_and_annotations(path: str, meta: Any) -> Causes:
    """The labels and annotations of ObjectMeta at ``path`` (``metadata``, or
    ``spec.template`` for a pod template, whose errors Kubernetes reports at
    ``spec.template.labels``)."""
    causes: Causes = [(f"{path}.labels", m) for m in names.label_problems(dict(meta.labels))]
    causes += [
        (f"{path}.annotations", m) for m in names.annotation_problems(dict(meta.annotations))
    ]
    return causes


def validate_pod_template(path: str, template: Any) -> Causes:
    """ValidatePodTemplateSpec: the template's labels (a Job's carry its name,
    so a name over 63 characters is refused here) and annotations, and its
    pod spec."""
    return validate_labels_and_annotations(path, template.metadata) + validate_pod_spec(
        f"{path}.spec", template.spec
    )


def _port(path: str, port: int, *, allow_zero: bool = False) -> Causes:
    if allow_zero and port == 0:
        return []
    if not 1 <= port <= 65535:
        return [(path, f"Invalid value: {port}: must be between 1 and 65535, inclusive")]
    return []


def _quantities(path: str, values: Iterable[tuple[str, str]]) -> Causes:
    causes: Causes = []
    for name, text in values:
        try:
            if parse_quantity(text) < 0:
                causes.append((f"{path}[{name}]", f'Invalid value: "{text}": must be non-negative'))
        except QuantityError as err:
            causes.append((f"{path}[{name}]", f'Invalid value: "{text}": {err}'))
    return causes


def validate_container(path: str, c: Any, volumes: set[str]) -> Causes:
    causes: Causes = []
    if not c.name:
        causes.append((f"{path}.name", REQUIRED))
    else:
        causes += [
            (f"{path}.name", f'Invalid value: "{c.name}": {m}')
            for m in names.validate_dns1123_label(c.name)
        ]
    if not c.image.strip():
        causes.append((f"{path}.image", REQUIRED))
    if c.image_pull_policy and c.image_pull_policy not in PULL_POLICIES:
        causes.append((f"{path}.imagePullPolicy", unsupported(c.image_pull_policy, PULL_POLICIES)))
    for i, port in enumerate(c.ports):
        causes += _port(f"{path}.ports[{i}].containerPort", port.container_port)
        causes += _port(f"{path}.ports[{i}].hostPort", port.host_port, allow_zero=True)
        if port.protocol and port.protocol not in PROTOCOLS:
            causes.append((f"{path}.ports[{i}].protocol", unsupported(port.protocol, PROTOCOLS)))
    for i, env in enumerate(c.env):
        if not _ENV_NAME.match(env.name):
            causes.append(
                (
                    f"{path}.env[{i}].name",
                    f'Invalid value: "{env.name}": a valid '
                    "environment variable name must consist of alphabetic characters, "
                    "digits, '_', '-', or '.', and must not start with a digit",
                )
            )
    causes += _quantities(f"{path}.resources.requests", c.resources.requests.items())
    causes += _quantities(f"{path}.resources.limits", c.resources.limits.items())
    for i, mount in enumerate(c.volume_mounts):
        if mount.name not in volumes:
            causes.append((f"{path}.volumeMounts[{i}].name", f'Not found: "{mount.name}"'))
        if not mount.mount_path:
            causes.append((f"{path}.volumeMounts[{i}].mountPath", REQUIRED))
    return causes


def validate_pod_spec(path: str, spec: Any) -> Causes:
    causes: Causes = []
    volumes: set[str] = set()
    for i, vol in enumerate(spec.volumes):
        if vol.name in volumes:
            causes.append((f"{path}.volumes[{i}].name", f'Duplicate value: "{vol.name}"'))
        volumes.add(vol.name)
    if not spec.containers:
        causes.append((f"{path}.containers", REQUIRED))
    seen: set[str] = set()
    for field, containers in (
        ("initContainers", spec.init_containers),
        ("containers", spec.containers),
    ):
        for i, c in enumerate(containers):
            if c.name in seen:
                causes.append((f"{path}.{field}[{i}].name", f'Duplicate value: "{c.name}"'))
            seen.add(c.name)
            causes += validate_container(f"{path}.{field}[{i}]", c, volumes)
    if spec.restart_policy not in RESTART_POLICIES:
        causes.append((f"{path}.restartPolicy", unsupported(spec.restart_policy, RESTART_POLICIES)))
    for i, t in enumerate(spec.tolerations):
        if t.operator not in ("", "Equal", "Exists"):
            causes.append(
                (f"{path}.tolerations[{i}].operator", unsupported(t.operator, ("Equal", "Exists")))
            )
        if t.effect and t.effect not in TAINT_EFFECTS:
            causes.append((f"{path}.tolerations[{i}].effect", unsupported(t.effect, TAINT_EFFECTS)))
    causes += validate_topology_spread(path, spec.topology_spread_constraints)
    if (
        spec.HasField("termination_grace_period_seconds")
        and spec.termination_grace_period_seconds < 0
    ):
        causes.append(
            (f"{path}.terminationGracePeriodSeconds", "must be greater than or equal to 0")
        )
    return causes


def validate_pod(pod: Any) -> Causes:
    return validate_pod_spec("spec", pod.spec)


def _replicas(spec: Any) -> Causes:
    if spec.replicas < 0:
        return [
            ("spec.replicas", f"Invalid value: {spec.replicas}: must be greater than or equal to 0")
        ]
    return []


def _selector_matches_template(
    selector: dict[str, str], template_labels: dict[str, str], matches: bool
) -> Causes:
    causes: Causes = []
    if not selector:
        causes.append(("spec.selector", REQUIRED))
    if not matches:
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {template_labels}: `selector` does not match template `labels`",
            )
        )
    return causes


def validate_replication_controller(rc: Any) -> Causes:
    spec = rc.spec
    selector = dict(spec.selector)
    labels = dict(spec.template.metadata.labels)
    matches = all(labels.get(k) == v for k, v in selector.items())
    return (
        _replicas(spec)
        + _selector_matches_template(selector, labels, matches)
        + validate_pod_template("spec.template", spec.template)
    )


def _label_selector_workload(obj: Any) -> Causes:
    from shoal.selectors import SelectorError, label_selector_from_proto

    spec = obj.spec
    labels = dict(spec.template.metadata.labels)
    causes = _replicas(spec)
    try:
        selector = label_selector_from_proto(spec.selector)
    except SelectorError as err:
        return [*causes, ("spec.selector", str(err))]
    if selector.is_empty():
        causes.append(("spec.selector", REQUIRED))
    elif not selector.matches(labels):
        causes += _selector_matches_template({"_": "_"}, labels, False)
    return causes + validate_pod_template("spec.template", spec.template)


def validate_deployment(deploy: Any) -> Causes:
    causes = _label_selector_workload(deploy)
    strategy = deploy.spec.strategy
    if strategy.type not in ("RollingUpdate", "Recreate"):
        causes.append(
            ("spec.strategy.type", unsupported(strategy.type, ("Recreate", "RollingUpdate")))
        )
    if strategy.type == "Recreate" and strategy.HasField("rolling_update"):
        causes.append(
            (
                "spec.strategy.rollingUpdate",
                "Forbidden: may not be specified when strategy `type` is 'Recreate'",
            )
        )
    return causes


def validate_service(svc: Any) -> Causes:
    spec = svc.spec
    causes: Causes = []
    if spec.type not in SERVICE_TYPES:
        causes.append(("spec.type", unsupported(spec.type, SERVICE_TYPES)))
    if not spec.ports and spec.type != "ExternalName" and spec.cluster_ip != "None":
        causes.append(("spec.ports", REQUIRED))
    seen: set[str] = set()
    for i, port in enumerate(spec.ports):
        path = f"spec.ports[{i}]"
        if len(spec.ports) > 1 and not port.name:
            causes.append((f"{path}.name", REQUIRED))
        if port.name in seen:
            causes.append((f"{path}.name", f'Duplicate value: "{port.name}"'))
        seen.add(port.name)
        causes += _port(f"{path}.port", port.port)
        causes += _port(f"{path}.nodePort", port.node_port, allow_zero=True)
        if port.protocol not in PROTOCOLS:
            causes.append((f"{path}.protocol", unsupported(port.protocol, PROTOCOLS)))
        target = port.target_port
        if target.HasField("number_value"):
            causes += _port(f"{path}.targetPort", int(target.number_value))
        elif target.HasField("string_value"):
            causes += [
                (f"{path}.targetPort", f'Invalid value: "{target.string_value}": {m}')
                for m in validate_port_name(target.string_value)
            ]
    return causes


def validate_port_name(name: str) -> list[str]:
    """An IANA service name, as Kubernetes requires of named ports."""
    if len(name) > 15:
        return ["must be no more than 15 characters"]
    if not _PORT_NAME.match(name) or "--" in name:
        return [
            "must contain only lowercase alphanumeric characters or '-', must contain "
            "at least one letter, and must not start or end with '-'"
        ]
    return []


def _config_keys(path: str, keys: Iterable[str]) -> Causes:
    return [
        (
            f"{path}[{k}]",
            f'Invalid value: "{k}": a valid config key must consist of '
            "alphanumeric characters, '-', '_' or '.'",
        )
        for k in keys
        if not _CONFIG_KEY.match(k)
    ]


def validate_config_map(cm: Any) -> Causes:
    return (
        _config_keys("data", cm.data)
        + _config_keys("binaryData", cm.binary_data)
        + [
            (f"data[{k}]", f'Invalid value: "{k}": duplicate of key present in binaryData')
            for k in set(cm.data) & set(cm.binary_data)
        ]
    )


def validate_secret(secret: Any) -> Causes:
    return _config_keys("data", secret.data)


def validate_node(node: Any) -> Causes:
    causes: Causes = []
    for i, taint in enumerate(node.spec.taints):
        if not taint.key:
            causes.append((f"spec.taints[{i}].key", REQUIRED))
        if taint.effect not in TAINT_EFFECTS:
            causes.append((f"spec.taints[{i}].effect", unsupported(taint.effect, TAINT_EFFECTS)))
    return causes


validate_replica_set = _label_selector_workload


def pod_spec_update(old: Any, new: Any) -> Causes:
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


def validate_object(kind: Kind, obj: Any) -> Causes:
    """The metadata every object has, then what the kind's strategy checks."""
    strategy = kind.strategy
    causes = validate_metadata(obj.metadata, name_check=strategy.validate_name)
    return causes + strategy.validate(obj)
