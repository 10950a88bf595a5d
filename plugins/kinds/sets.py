"""Defaulting, validation and table columns of DaemonSets, StatefulSets and
ControllerRevisions (Kubernetes' ``apps/v1`` defaults.go and
validation.go), used by their strategies in :mod:`apps`."""

from __future__ import annotations

from typing import Any

from google.protobuf.struct_pb2 import Value
from shoal import validation
from shoal.age import age
from shoal.apiserver import defaults
from shoal.apiserver.validate import (
    REQUIRED,
    unsupported,
    validate_labels_and_annotations,
    validate_pod_spec,
)
from shoal.plugins.kinds.columns import labels_selector
from shoal.plugins.kinds.storage_rules import (
    default_persistent_volume_claim,
    validate_persistent_volume_claim,
)
from shoal.strategy import Causes

UPDATE_TYPES = ("OnDelete", "RollingUpdate")
POD_MANAGEMENT = ("OrderedReady", "Parallel")
RETENTION = ("Delete", "Retain")
IMMUTABLE = "Invalid value: field is immutable"

# -- defaulting ------------------------------------------------------------------


def default_daemon_set(ds: Any) -> None:
    spec = ds.spec
    strategy = spec.update_strategy
    if not strategy.type:
        strategy.type = "RollingUpdate"
    if strategy.type == "RollingUpdate":
        rolling = strategy.rolling_update
        if not rolling.HasField("max_unavailable"):
            rolling.max_unavailable.CopyFrom(Value(number_value=1))
        if not rolling.HasField("max_surge"):
            rolling.max_surge.CopyFrom(Value(number_value=0))
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = 10
    defaults.default_pod_spec(spec.template.spec)


def default_stateful_set(sts: Any) -> None:
    spec = sts.spec
    if not spec.HasField("replicas"):
        spec.replicas = 1
    if not spec.pod_management_policy:
        spec.pod_management_policy = "OrderedReady"
    strategy = spec.update_strategy
    if not strategy.type:
        strategy.type = "RollingUpdate"
    if strategy.type == "RollingUpdate" and not strategy.rolling_update.HasField("partition"):
        strategy.rolling_update.partition = 0
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = 10
    policy = spec.persistent_volume_claim_retention_policy
    policy.when_deleted = policy.when_deleted or "Retain"
    policy.when_scaled = policy.when_scaled or "Retain"
    for template in spec.volume_claim_templates:
        default_persistent_volume_claim(template)
    defaults.default_pod_spec(spec.template.spec)


# -- validation ------------------------------------------------------------------


def int_or_percent(path: str, value: Value) -> Causes:
    """A non-negative integer, or a percentage of at most 100%."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        if number < 0 or number != int(number):
            return [(path, f"Invalid value: {number:g}: must be greater than or equal to 0")]
        return []
    if kind == "string_value":
        text = value.string_value
        if not text.endswith("%") or not text[:-1].isdigit():
            return [(path, f"Invalid value: {text!r}: a valid percent string must be a numeric")]
        if int(text[:-1]) > 100:
            return [(path, f"Invalid value: {text!r}: must not be greater than 100%")]
        return []
    return []


def is_zero(value: Value) -> bool:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return value.number_value == 0
    return kind is None or value.string_value in ("0%", "0")


def _selector_and_template(spec: Any, pod_spec: Any = None) -> Causes:
    from shoal.selectors import SelectorError, label_selector_from_proto

    causes: Causes = []
    labels = dict(spec.template.metadata.labels)
    try:
        selector = label_selector_from_proto(spec.selector)
    except SelectorError as err:
        return [("spec.selector", str(err))]
    if selector.is_empty():
        causes.append(("spec.selector", REQUIRED))
    elif not selector.matches(labels):
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {labels}: `selector` does not match template `labels`",
            )
        )
    causes += validate_labels_and_annotations("spec.template", spec.template.metadata)
    causes += validate_pod_spec("spec.template.spec", pod_spec or spec.template.spec)
    policy = spec.template.spec.restart_policy
    if policy != "Always":
        causes.append(
            (
                "spec.template.spec.restartPolicy",
                f'Unsupported value: "{policy}": supported values: "Always"',
            )
        )
    return causes


def _non_negative(path: str, number: int) -> Causes:
    if number < 0:
        return [(path, f"Invalid value: {number}: must be greater than or equal to 0")]
    return []


def validate_daemon_set(ds: Any) -> Causes:
    spec = ds.spec
    causes = _selector_and_template(spec)
    causes += _non_negative("spec.minReadySeconds", spec.min_ready_seconds)
    causes += _non_negative("spec.revisionHistoryLimit", spec.revision_history_limit)
    strategy = spec.update_strategy
    if strategy.type not in UPDATE_TYPES:
        causes.append(("spec.updateStrategy.type", unsupported(strategy.type, UPDATE_TYPES)))
    if strategy.type == "RollingUpdate":
        rolling, path = strategy.rolling_update, "spec.updateStrategy.rollingUpdate"
        causes += int_or_percent(f"{path}.maxUnavailable", rolling.max_unavailable)
        causes += int_or_percent(f"{path}.maxSurge", rolling.max_surge)
        if is_zero(rolling.max_unavailable) and is_zero(rolling.max_surge):
            causes.append(
                (
                    f"{path}.maxUnavailable",
                    "Invalid value: 0: may not be 0 when `maxSurge` is 0",
                )
            )
    return causes


def validate_stateful_set(sts: Any) -> Causes:
    spec = sts.spec
    causes = _non_negative("spec.replicas", spec.replicas)
    causes += _selector_and_template(spec, _with_claim_volumes(spec))
    causes += _claim_templates(spec)
    causes += _non_negative("spec.minReadySeconds", spec.min_ready_seconds)
    causes += _non_negative("spec.revisionHistoryLimit", spec.revision_history_limit)
    causes += _non_negative("spec.ordinals.start", spec.ordinals.start)
    if spec.pod_management_policy not in POD_MANAGEMENT:
        causes.append(
            (
                "spec.podManagementPolicy",
                unsupported(spec.pod_management_policy, POD_MANAGEMENT),
            )
        )
    causes += _sts_strategy(spec.update_strategy)
    policy = spec.persistent_volume_claim_retention_policy
    for field, value in (("whenDeleted", policy.when_deleted), ("whenScaled", policy.when_scaled)):
        if value not in RETENTION:
            path = f"spec.persistentVolumeClaimRetentionPolicy.{field}"
            causes.append((path, unsupported(value, RETENTION)))
    return causes


def _with_claim_volumes(spec: Any) -> Any:
    """The template's pod spec with a volume per claim template, as its pods
    get them, so mounts of the claims validate."""
    pod_spec = type(spec.template.spec)()
    pod_spec.CopyFrom(spec.template.spec)
    have = {v.name for v in pod_spec.volumes}
    for template in spec.volume_claim_templates:
        if template.metadata.name and template.metadata.name not in have:
            volume = pod_spec.volumes.add(name=template.metadata.name)
            volume.persistent_volume_claim.claim_name = template.metadata.name
    return pod_spec


def _claim_templates(spec: Any) -> Causes:
    causes: Causes = []
    seen: set[str] = set()
    for i, template in enumerate(spec.volume_claim_templates):
        path = f"spec.volumeClaimTemplates[{i}]"
        name = template.metadata.name
        if not name:
            causes.append((f"{path}.metadata.name", REQUIRED))
        for problem in validation.validate_dns1123_subdomain(name) if name else []:
            causes.append((f"{path}.metadata.name", f"Invalid value: {name!r}: {problem}"))
        if name in seen:
            causes.append((f"{path}.metadata.name", f"Duplicate value: {name!r}"))
        seen.add(name)
        causes += [(f"{path}.{f}", m) for f, m in validate_persistent_volume_claim(template)]
    return causes


def _sts_strategy(strategy: Any) -> Causes:
    path = "spec.updateStrategy"
    if strategy.type not in UPDATE_TYPES:
        return [(f"{path}.type", unsupported(strategy.type, UPDATE_TYPES))]
    if strategy.type == "OnDelete" and strategy.HasField("rolling_update"):
        return [
            (
                f"{path}.rollingUpdate",
                "Invalid value: only allowed for updateStrategy 'RollingUpdate'",
            )
        ]
    rolling = strategy.rolling_update
    causes = _non_negative(f"{path}.rollingUpdate.partition", rolling.partition)
    if rolling.HasField("max_unavailable"):
        causes += int_or_percent(f"{path}.rollingUpdate.maxUnavailable", rolling.max_unavailable)
        if is_zero(rolling.max_unavailable):
            causes.append(
                (f"{path}.rollingUpdate.maxUnavailable", "Invalid value: 0: must be greater than 0")
            )
    return causes


# What an update of a StatefulSet may change in its spec (Kubernetes'
# ValidateStatefulSetUpdate); volumeClaimTemplates and serviceName may not.
STS_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "update_strategy",
    "persistent_volume_claim_retention_policy",
    "min_ready_seconds",
    "revision_history_limit",
)


def validate_stateful_set_update(old: Any, new: Any) -> Causes:
    if old.spec.selector != new.spec.selector:
        return [("spec.selector", IMMUTABLE)]
    a, b = type(old.spec)(), type(new.spec)()
    a.CopyFrom(old.spec)
    b.CopyFrom(new.spec)
    for field in STS_MUTABLE:
        a.ClearField(field)
        b.ClearField(field)
    if a != b:
        return [
            (
                "spec",
                "Forbidden: updates to statefulset spec for fields other than 'replicas', "
                "'ordinals', 'template', 'updateStrategy', "
                "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            )
        ]
    return []


def validate_controller_revision(revision: Any) -> Causes:
    causes = [] if revision.HasField("data") else [("data", "Required value: data is mandatory")]
    return causes + _non_negative("revision", revision.revision)


def validate_controller_revision_update(old: Any, new: Any) -> Causes:
    if old.data != new.data:
        return [("data", IMMUTABLE)]
    return []


# -- tables (kubectl 1.32's printers) ------------------------------------------------

Obj = dict[str, Any]


def _age(obj: Obj, now: float) -> str:
    return age((obj.get("metadata") or {}).get("creationTimestamp", ""), now)


def _containers(obj: Obj) -> list[str]:
    spec = obj.get("spec") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return [
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
    ]


def daemon_set_cells(obj: Obj, now: float) -> list[str]:
    status = obj.get("status") or {}
    node_selector = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "nodeSelector"
    ) or {}
    return [
        str(status.get("desiredNumberScheduled", 0)),
        str(status.get("currentNumberScheduled", 0)),
        str(status.get("numberReady", 0)),
        str(status.get("updatedNumberScheduled", 0)),
        str(status.get("numberAvailable", 0)),
        ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>",
        _age(obj, now),
    ]


def template_wide_cells(obj: Obj, now: float) -> list[str]:
    return [*_containers(obj), labels_selector((obj.get("spec") or {}).get("selector"))]


def stateful_set_cells(obj: Obj, now: float) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}", _age(obj, now)]


def stateful_set_wide_cells(obj: Obj, now: float) -> list[str]:
    return _containers(obj)


def controller_revision_cells(obj: Obj, now: float) -> list[str]:
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    owner = next((o for o in owners if o.get("controller")), None)
    controller = "<none>"
    if owner:
        group = (
            owner.get("apiVersion", "").split("/")[0] if "/" in owner.get("apiVersion", "") else ""
        )
        kind = owner.get("kind", "").lower() + (f".{group}" if group else "")
        controller = f"{kind}/{owner.get('name', '')}"
    return [controller, str(obj.get("revision", 0)), _age(obj, now)]
