"""HorizontalPodAutoscaler as ``autoscaling/v1`` serves it: a view of the one
stored ``autoscaling/v2`` object (Kubernetes' ``pkg/apis/autoscaling/v1``
conversion).

v1 says one thing v2 says differently: ``spec.targetCPUUtilizationPercentage``
is v2's ``Resource`` metric ``cpu`` with a ``Utilization`` target, and
``status.currentCPUUtilizationPercentage`` its current value. What v1 cannot
say travels in annotations, as in Kubernetes, so that an update through v1
loses nothing: the other metrics (``autoscaling.alpha.kubernetes.io/metrics``),
the behavior (``.../behavior``), the current metrics (``.../current-metrics``)
and the conditions (``.../conditions``), each as the JSON of v2's fields
(Kubernetes writes v1's own older metric shape there; shoal writes v2's).
The stored object never carries these annotations.

:func:`served_as_v1` builds the v1 kind from the v2 one: its strategy
defaults, validates and prints through the v2 strategy, on the converted object.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from shoal.api.v1 import autoscaling_pb2, autoscaling_v1_pb2
from shoal.kinds import Kind
from shoal.strategy import Causes, Conversion, Strategy, Table

API_VERSION = "autoscaling/v1"
PREFIX = "autoscaling.alpha.kubernetes.io/"
METRICS = PREFIX + "metrics"
BEHAVIOR = PREFIX + "behavior"
CURRENT_METRICS = PREFIX + "current-metrics"
CONDITIONS = PREFIX + "conditions"
ROUND_TRIP = (METRICS, BEHAVIOR, CURRENT_METRICS, CONDITIONS)
STATUS_ANNOTATIONS = (CURRENT_METRICS, CONDITIONS)


def _is_cpu_utilization(metric: Any) -> bool:
    return (
        metric.type == "Resource"
        and metric.resource.name == "cpu"
        and metric.resource.target.type == "Utilization"
        and metric.resource.target.HasField("average_utilization")
    )


def _dump(messages: Any) -> str:
    return json.dumps([json_format.MessageToDict(m) for m in messages], separators=(",", ":"))


# -- v2 (stored) -> v1 ------------------------------------------------------------


def to_v1(stored: Any) -> Any:
    """The v1 view of a stored v2 object."""
    out = autoscaling_v1_pb2.HorizontalPodAutoscalerV1(api_version=API_VERSION, kind=stored.kind)
    out.metadata.CopyFrom(stored.metadata)
    annotations = out.metadata.annotations
    for key in ROUND_TRIP:
        annotations.pop(key, None)
    spec, status = stored.spec, stored.status
    out.spec.scale_target_ref.CopyFrom(spec.scale_target_ref)
    if spec.HasField("min_replicas"):
        out.spec.min_replicas = spec.min_replicas
    out.spec.max_replicas = spec.max_replicas
    cpu = next((m for m in spec.metrics if _is_cpu_utilization(m)), None)
    if cpu is not None:
        out.spec.target_cpu_utilization_percentage = cpu.resource.target.average_utilization
    others = [m for m in spec.metrics if m is not cpu]
    if others:
        annotations[METRICS] = _dump(others)
    if spec.HasField("behavior"):
        annotations[BEHAVIOR] = json.dumps(
            json_format.MessageToDict(spec.behavior), separators=(",", ":")
        )
    _status_to_v1(status, out)
    return out


def _status_to_v1(status: Any, out: Any) -> None:
    if status.HasField("observed_generation"):
        out.status.observed_generation = status.observed_generation
    if status.HasField("last_scale_time"):
        out.status.last_scale_time.CopyFrom(status.last_scale_time)
    out.status.current_replicas = status.current_replicas
    out.status.desired_replicas = status.desired_replicas
    for metric in status.current_metrics:
        current = metric.resource.current
        if metric.type == "Resource" and metric.resource.name == "cpu":
            if current.HasField("average_utilization"):
                out.status.current_cpu_utilization_percentage = current.average_utilization
            break
    if status.current_metrics:
        out.metadata.annotations[CURRENT_METRICS] = _dump(status.current_metrics)
    if status.conditions:
        out.metadata.annotations[CONDITIONS] = _dump(status.conditions)


# -- v1 -> v2 (stored) ------------------------------------------------------------


class AnnotationError(ValueError):
    """A round-trip annotation that does not hold what it should."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"metadata.annotations[{key}]")
        self.key, self.problem = key, problem


def _parse_list(annotations: Any, key: str, message: type[Any]) -> list[Any]:
    if key not in annotations:
        return []
    try:
        items = json.loads(annotations[key])
        if not isinstance(items, list):
            raise AnnotationError(key, "must be a JSON list")
        return [json_format.ParseDict(item, message()) for item in items]
    except (ValueError, json_format.ParseError) as err:
        if isinstance(err, AnnotationError):
            raise
        raise AnnotationError(key, str(err).splitlines()[0]) from None


def _parse_behavior(annotations: Any) -> Any | None:
    if BEHAVIOR not in annotations:
        return None
    try:
        return json_format.ParseDict(
            json.loads(annotations[BEHAVIOR]), autoscaling_pb2.HorizontalPodAutoscalerBehavior()
        )
    except (ValueError, json_format.ParseError) as err:
        raise AnnotationError(BEHAVIOR, str(err).splitlines()[0]) from None


def to_v2(obj: Any, *, strict: bool = False) -> Any:
    """The stored v2 object of a v1 one. A malformed round-trip annotation is
    left out, or raises :class:`AnnotationError` when ``strict``."""
    out = autoscaling_pb2.HorizontalPodAutoscaler(api_version="autoscaling/v2", kind=obj.kind)
    out.metadata.CopyFrom(obj.metadata)
    annotations = obj.metadata.annotations
    for key in ROUND_TRIP:
        out.metadata.annotations.pop(key, None)
    spec = obj.spec
    out.spec.scale_target_ref.CopyFrom(spec.scale_target_ref)
    if spec.HasField("min_replicas"):
        out.spec.min_replicas = spec.min_replicas
    out.spec.max_replicas = spec.max_replicas
    if spec.HasField("target_cpu_utilization_percentage"):
        metric = out.spec.metrics.add(type="Resource")
        metric.resource.name = "cpu"
        metric.resource.target.type = "Utilization"
        metric.resource.target.average_utilization = spec.target_cpu_utilization_percentage
    out.spec.metrics.extend(_lenient(strict, _parse_list, annotations, METRICS,
                                     autoscaling_pb2.MetricSpec) or [])  # fmt: skip
    behavior = _lenient(strict, _parse_behavior, annotations)
    if behavior is not None:
        out.spec.behavior.CopyFrom(behavior)
    _status_to_v2(obj, out, strict)
    return out


def _status_to_v2(obj: Any, out: Any, strict: bool) -> None:
    status, annotations = obj.status, obj.metadata.annotations
    if status.HasField("observed_generation"):
        out.status.observed_generation = status.observed_generation
    if status.HasField("last_scale_time"):
        out.status.last_scale_time.CopyFrom(status.last_scale_time)
    out.status.current_replicas = status.current_replicas
    out.status.desired_replicas = status.desired_replicas
    current = _lenient(strict, _parse_list, annotations, CURRENT_METRICS,
                       autoscaling_pb2.MetricStatus)  # fmt: skip
    if current:  # richer than the v1 field, as Kubernetes prefers it
        out.status.current_metrics.extend(current)
    elif status.HasField("current_cpu_utilization_percentage"):
        metric = out.status.current_metrics.add(type="Resource")
        metric.resource.name = "cpu"
        metric.resource.current.average_utilization = status.current_cpu_utilization_percentage
    conditions = _lenient(strict, _parse_list, annotations, CONDITIONS,
                          type(out.status.conditions.add()))  # fmt: skip
    del out.status.conditions[:]
    out.status.conditions.extend(conditions or [])


def _lenient(strict: bool, parse: Any, *args: Any) -> Any:
    try:
        return parse(*args)
    except AnnotationError:
        if strict:
            raise
        return None


# -- the kind ----------------------------------------------------------------------


class HorizontalPodAutoscalerV1Strategy(Strategy):
    """Defaults, validates and prints a v1 object through the v2 strategy."""

    reset_status_on_create = True

    def __init__(self, storage_strategy: Strategy) -> None:
        self.storage_strategy = storage_strategy
        self.conversion = Conversion(
            autoscaling_pb2.HorizontalPodAutoscaler, self.to_storage, to_v1
        )
        base = storage_strategy.table
        if base is not None:
            self.table = Table(base.headers, self._cells)

    def to_storage(self, obj: Any) -> Any:
        stored = to_v2(obj)
        self.storage_strategy.default(stored)
        return stored

    def default(self, obj: Any) -> None:
        if not obj.spec.HasField("min_replicas"):
            obj.spec.min_replicas = 1

    def prepare_for_update(self, old: Any, new: Any) -> None:
        """The status annotations belong to the status, kept from ``old``."""
        for key in STATUS_ANNOTATIONS:
            new.metadata.annotations.pop(key, None)
            if key in old.metadata.annotations:
                new.metadata.annotations[key] = old.metadata.annotations[key]

    def validate(self, obj: Any) -> Causes:
        causes: Causes = []
        target = obj.spec.target_cpu_utilization_percentage
        if obj.spec.HasField("target_cpu_utilization_percentage") and target < 1:
            causes.append(
                (
                    "spec.targetCPUUtilizationPercentage",
                    f"Invalid value: {target}: must be greater than 0",
                )
            )
        try:
            stored = to_v2(obj, strict=True)
        except AnnotationError as err:
            return [*causes, (str(err), f"Invalid value: {err.problem}")]
        self.storage_strategy.default(stored)
        return causes + [
            cause
            for cause in self.storage_strategy.validate(stored)
            if not _is_cpu_cause(cause, causes)
        ]

    def _cells(self, obj: dict[str, Any], now: float) -> list[str]:
        v1 = json_format.ParseDict(
            obj, autoscaling_v1_pb2.HorizontalPodAutoscalerV1(), ignore_unknown_fields=True
        )
        stored = self.to_storage(v1)
        table = self.storage_strategy.table
        assert table is not None
        return table.cells(json_format.MessageToDict(stored), now)


def _is_cpu_cause(cause: tuple[str, str], v1_causes: Causes) -> bool:
    """v2's complaint about the CPU target v1 already reported by its own name."""
    return bool(v1_causes) and cause[0].endswith(".target.averageUtilization")


def served_as_v1(stored: Kind) -> Kind:
    """The autoscaling/v1 kind of the stored autoscaling/v2 HorizontalPodAutoscaler."""
    return Kind(
        kind=stored.kind,
        api_version=API_VERSION,
        plural=stored.plural,
        singular=stored.singular,
        short_names=stored.short_names,
        namespaced=stored.namespaced,
        message=autoscaling_v1_pb2.HorizontalPodAutoscalerV1,
        has_status=stored.has_status,
        strategy=HorizontalPodAutoscalerV1Strategy(stored.strategy),
    )


__all__ = ["API_VERSION", "ROUND_TRIP", "served_as_v1", "to_v1", "to_v2"]
