"""The ``autoscaling/v2`` kind: HorizontalPodAutoscaler, also served as
``autoscaling/v1`` (:mod:`autoscaling_v1`, a view of the same objects).

Its strategy defaults and checks the spec as Kubernetes does; the
horizontal pod autoscaler controller
(``shoal.plugins.controllers.horizontalpodautoscaler``) scales the target
and keeps the status.
"""

from __future__ import annotations

from typing import Any

from shoal import hookimpl, quantity
from shoal.age import age
from shoal.api.v1 import autoscaling_pb2
from shoal.kinds import Kind
from shoal.plugins.kinds._register import kind, register_all
from shoal.plugins.kinds.autoscaling_v1 import served_as_v1
from shoal.plugins.kinds.core import ALL
from shoal.registry import Registry
from shoal.strategy import Causes, Strategy, Table

API_VERSION = "autoscaling/v2"
DEFAULT_CPU_UTILIZATION = 80
RESOURCES = ("cpu", "memory")
TARGET_TYPES = ("Utilization", "AverageValue")
POLICY_TYPES = ("Pods", "Percent")
SELECT_POLICIES = ("Max", "Min", "Disabled")
MAX_PERIOD_SECONDS = 1800
MAX_WINDOW_SECONDS = 3600


def scale_up_rules(rules: Any | None) -> autoscaling_pb2.HPAScalingRules:
    """Kubernetes' GenerateHPAScaleUpRules: what a rule leaves out, defaulted."""
    out = autoscaling_pb2.HPAScalingRules()
    if rules is not None:
        out.CopyFrom(rules)
    if not out.policies:
        out.policies.add(type="Pods", value=4, period_seconds=15)
        out.policies.add(type="Percent", value=100, period_seconds=15)
    if not out.HasField("select_policy"):
        out.select_policy = "Max"
    if not out.HasField("stabilization_window_seconds"):
        out.stabilization_window_seconds = 0
    return out


def scale_down_rules(rules: Any | None) -> autoscaling_pb2.HPAScalingRules:
    """Kubernetes' GenerateHPAScaleDownRules."""
    out = autoscaling_pb2.HPAScalingRules()
    if rules is not None:
        out.CopyFrom(rules)
    if not out.policies:
        out.policies.add(type="Percent", value=100, period_seconds=15)
    if not out.HasField("select_policy"):
        out.select_policy = "Max"
    if not out.HasField("stabilization_window_seconds"):
        out.stabilization_window_seconds = 300
    return out


def default_hpa(obj: Any) -> None:
    spec = obj.spec
    if not spec.HasField("min_replicas"):
        spec.min_replicas = 1
    if not spec.metrics:
        metric = spec.metrics.add(type="Resource")
        metric.resource.name = "cpu"
        metric.resource.target.type = "Utilization"
        metric.resource.target.average_utilization = DEFAULT_CPU_UTILIZATION
    if spec.HasField("behavior"):  # as Kubernetes: only a given behavior is filled in
        behavior = spec.behavior
        up = behavior.scale_up if behavior.HasField("scale_up") else None
        down = behavior.scale_down if behavior.HasField("scale_down") else None
        behavior.scale_up.CopyFrom(scale_up_rules(up))
        behavior.scale_down.CopyFrom(scale_down_rules(down))


def _unsupported(path: str, value: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    listed = ", ".join(f'"{a}"' for a in allowed)
    return (path, f'Unsupported value: "{value}": supported values: {listed}')


def _validate_target(path: str, target: Any) -> Causes:
    if target.type not in TARGET_TYPES:
        return [_unsupported(f"{path}.type", target.type, TARGET_TYPES)]
    if target.type == "Utilization":
        if not target.HasField("average_utilization"):
            return [(f"{path}.averageUtilization", "Required value: must set averageUtilization")]
        if target.average_utilization < 1:
            return [
                (
                    f"{path}.averageUtilization",
                    f"Invalid value: {target.average_utilization}: must be greater than 0",
                )
            ]
        return []
    if not target.HasField("average_value"):
        return [(f"{path}.averageValue", "Required value: must set averageValue")]
    try:
        if quantity.parse_quantity(target.average_value) <= 0:
            return [
                (
                    f"{path}.averageValue",
                    f'Invalid value: "{target.average_value}": must be positive',
                )
            ]
    except quantity.QuantityError as err:
        return [(f"{path}.averageValue", f'Invalid value: "{target.average_value}": {err}')]
    return []


def _validate_metric(path: str, metric: Any) -> Causes:
    if metric.type != "Resource":
        return [_unsupported(f"{path}.type", metric.type, ("Resource",))]
    if not metric.HasField("resource"):
        return [
            (
                f"{path}.resource",
                "Required value: must populate information for the given metric source",
            )
        ]
    if metric.resource.name not in RESOURCES:
        return [_unsupported(f"{path}.resource.name", metric.resource.name, RESOURCES)]
    return _validate_target(f"{path}.resource.target", metric.resource.target)


def _validate_rules(path: str, rules: Any) -> Causes:
    causes: Causes = []
    window = rules.stabilization_window_seconds
    if not 0 <= window <= MAX_WINDOW_SECONDS:
        causes.append(
            (
                f"{path}.stabilizationWindowSeconds",
                f"Invalid value: {window}: must be between 0 and {MAX_WINDOW_SECONDS}",
            )
        )
    if rules.HasField("select_policy") and rules.select_policy not in SELECT_POLICIES:
        causes.append(_unsupported(f"{path}.selectPolicy", rules.select_policy, SELECT_POLICIES))
    for i, policy in enumerate(rules.policies):
        at = f"{path}.policies[{i}]"
        if policy.type not in POLICY_TYPES:
            causes.append(_unsupported(f"{at}.type", policy.type, POLICY_TYPES))
        if policy.value <= 0:
            causes.append(
                (f"{at}.value", f"Invalid value: {policy.value}: must be greater than zero")
            )
        if not 0 < policy.period_seconds <= MAX_PERIOD_SECONDS:
            causes.append(
                (
                    f"{at}.periodSeconds",
                    f"Invalid value: {policy.period_seconds}: must be greater than zero "
                    f"and less than or equal to {MAX_PERIOD_SECONDS}",
                )
            )
    return causes


def validate_hpa(obj: Any) -> Causes:
    spec = obj.spec
    causes: Causes = []
    ref = spec.scale_target_ref
    if not ref.kind:
        causes.append(("spec.scaleTargetRef.kind", "Required value"))
    if not ref.name:
        causes.append(("spec.scaleTargetRef.name", "Required value"))
    if spec.min_replicas < 1:
        causes.append(
            (
                "spec.minReplicas",
                f"Invalid value: {spec.min_replicas}: must be greater than or equal to 1",
            )
        )
    if spec.max_replicas < spec.min_replicas:
        causes.append(
            (
                "spec.maxReplicas",
                f"Invalid value: {spec.max_replicas}: must be greater than or equal to "
                "`minReplicas`",
            )
        )
    for i, metric in enumerate(spec.metrics):
        causes += _validate_metric(f"spec.metrics[{i}]", metric)
    if spec.behavior.HasField("scale_up"):
        causes += _validate_rules("spec.behavior.scaleUp", spec.behavior.scale_up)
    if spec.behavior.HasField("scale_down"):
        causes += _validate_rules("spec.behavior.scaleDown", spec.behavior.scale_down)
    return causes


def _target(metric: dict[str, Any], current: dict[str, Any] | None) -> str:
    """kubectl's formatHPAMetrics for one Resource metric."""
    resource = metric.get("resource") or {}
    target = resource.get("target") or {}
    now = ((current or {}).get("resource") or {}).get("current") or {}
    if "averageUtilization" in target:
        shown = f"{now['averageUtilization']}%" if "averageUtilization" in now else "<unknown>"
        return f"{resource.get('name', '')}: {shown}/{target['averageUtilization']}%"
    shown = now.get("averageValue", "<unknown>")
    return f"{resource.get('name', '')}: {shown}/{target.get('averageValue', '<unknown>')}"


def targets(obj: dict[str, Any]) -> str:
    metrics = (obj.get("spec") or {}).get("metrics") or []
    if not metrics:
        return "<none>"
    current = (obj.get("status") or {}).get("currentMetrics") or []
    shown = [_target(m, current[i] if i < len(current) else None) for i, m in enumerate(metrics)]
    if len(shown) > 2:
        return f"{', '.join(shown[:2])} + {len(shown) - 2} more..."
    return ", ".join(shown)


def _cells(obj: dict[str, Any], now: float) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    return [
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        targets(obj),
        str(spec["minReplicas"]) if "minReplicas" in spec else "<unset>",
        str(spec.get("maxReplicas", 0)),
        str(status.get("currentReplicas", 0)),
        age((obj.get("metadata") or {}).get("creationTimestamp", ""), now),
    ]


class HorizontalPodAutoscalerStrategy(Strategy):
    categories = ALL
    reset_status_on_create = True
    table = Table(("REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"), _cells)

    def default(self, obj: Any) -> None:
        default_hpa(obj)

    def validate(self, obj: Any) -> Causes:
        return validate_hpa(obj)


HPA = kind(
    "HorizontalPodAutoscaler",
    API_VERSION,
    autoscaling_pb2.HorizontalPodAutoscaler,
    ("hpa",),
    strategy=HorizontalPodAutoscalerStrategy(),
    has_status=True,
)
# The same objects served as autoscaling/v1 (registered after v2, the preferred version).
HPA_V1 = served_as_v1(HPA)


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    register_all(registry, HPA)
    registry.register(f"{HPA_V1.plural}.{HPA_V1.version}.{HPA_V1.group}", HPA_V1)


__all__ = ["HPA", "HPA_V1", "default_hpa", "scale_down_rules", "scale_up_rules", "validate_hpa"]
