"""The horizontal pod autoscaler controller, as Kubernetes'
``HorizontalController``: every sync period (15 s; the control plane's
``horizontal_pod_autoscaler_sync_period`` option, the server's
``--horizontal-pod-autoscaler-sync-period``) each autoscaler reads its
target's replicas and selector at the target kind's scale paths
(``strategy.scale``), the pods' usage from the metrics API
(``shoal.v1.Metrics/ListPodMetrics``), computes the replicas its metrics
ask for (:mod:`hpa_replicas`), stabilizes and limits the change as its
``behavior`` says, writes the target's replicas and its own status, and
records a ``SuccessfulRescale`` event.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shoal import clock, errors, hookimpl, kinds, selectors
from shoal.api.v1 import autoscaling_pb2, metrics_pb2, metrics_pb2_grpc
from shoal.apiserver import meta
from shoal.client import Client
from shoal.controller import Controller
from shoal.manifest import to_dict
from shoal.plugins.controllers import hpa_replicas
from shoal.plugins.controllers.hpa_replicas import Behavior, MetricError, Rules
from shoal.plugins.controllers.podutil import is_ready
from shoal.plugins.kinds.autoscaling import scale_down_rules, scale_up_rules
from shoal.quantity import parse_quantity
from shoal.registry import Registry

SYNC_PERIOD = 15.0
DOWNSCALE_STABILIZATION = 300.0  # --horizontal-pod-autoscaler-downscale-stabilization


def _requests(pod: Any, resource: str) -> Decimal:
    total = Decimal(0)
    for container in pod.spec.containers:
        asked = container.resources.requests.get(resource)
        if asked is None:
            return Decimal(0)
        total += parse_quantity(asked)
    return total


def _usage(item: Any, resource: str) -> Decimal:
    return sum((parse_quantity(c.usage.get(resource, "0")) for c in item.containers), Decimal(0))


def _shown(resource: str, value: Decimal) -> str:
    if resource == "cpu":
        return f"{int(value * 1000)}m"
    return str(int(value))


def _condition(status: Any, old: Any, type_: str, value: str, reason: str, message: str) -> None:
    previous = next((c for c in old.conditions if c.type == type_), None)
    added = status.conditions.add(type=type_, status=value, reason=reason, message=message)
    if previous is not None and previous.status == value:
        added.last_transition_time.CopyFrom(previous.last_transition_time)
    else:
        added.last_transition_time.CopyFrom(meta.now())


class HorizontalPodAutoscalerController(Controller):
    name = "horizontalpodautoscaler"

    def __init__(self, client: Client, options: dict[str, Any] | None = None) -> None:
        super().__init__(client)
        options = options or {}
        self.sync_period = float(options.get("horizontal_pod_autoscaler_sync_period", SYNC_PERIOD))
        # the scale-down window of autoscalers without a behavior (theirs is defaulted)
        window = options.get("horizontal_pod_autoscaler_downscale_stabilization")
        self.downscale_window = int(DOWNSCALE_STABILIZATION if window is None else window)
        self.autoscalers = self.watch("HorizontalPodAutoscaler")
        self.pods = self.informer("Pod")
        self.metrics = metrics_pb2_grpc.MetricsStub(client.channel)
        self.behaviors: dict[str, Behavior] = {}

    async def reconcile(self, key: Any) -> float | None:
        namespace, _, name = str(key).rpartition("/")
        hpa = self.autoscalers.get(name, namespace)
        if hpa is None or hpa.metadata.HasField("deletion_timestamp"):
            self.behaviors.pop(str(key), None)
            return None
        status = autoscaling_pb2.HorizontalPodAutoscalerStatus(
            observed_generation=hpa.metadata.generation,
            current_replicas=hpa.status.current_replicas,
            desired_replicas=hpa.status.desired_replicas,
        )
        if hpa.status.HasField("last_scale_time"):
            status.last_scale_time.CopyFrom(hpa.status.last_scale_time)
        try:
            await self._scale(hpa, status, self.behaviors.setdefault(str(key), Behavior()))
        except errors.APIError as err:
            status.ClearField("conditions")
            _condition(
                status,
                hpa.status,
                "AbleToScale",
                "False",
                "FailedGetScale",
                f"the HPA controller was unable to get the target's current scale: {err}",
            )
        await self._write_status(hpa, status)
        return self.sync_period

    async def _scale(self, hpa: Any, status: Any, behavior: Behavior) -> None:
        ref, spec, old = hpa.spec.scale_target_ref, hpa.spec, hpa.status
        try:
            kind = kinds.resolve(ref.kind)
        except kinds.UnknownKindError as err:
            raise errors.BadRequestError(str(err)) from None
        scale = kind.strategy.scale
        if scale is None:
            raise errors.BadRequestError(f"{ref.kind} has no scale subresource")
        target = await self.client.get(kind, ref.name, hpa.metadata.namespace)
        body = to_dict(target)
        current = scale.replicas(body)
        status.current_replicas = current
        _condition(
            status,
            old,
            "AbleToScale",
            "True",
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
        )
        if current == 0 and spec.min_replicas != 0:
            status.desired_replicas = 0
            _condition(
                status,
                old,
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            )
            return
        try:
            proposed, reason = await self._proposal(hpa, scale.selector(body), current, status)
        except MetricError as err:
            status.desired_replicas = current
            _condition(
                status,
                old,
                "ScalingActive",
                "False",
                "FailedGetResourceMetric",
                f"the HPA was unable to compute the replica count: {err}",
            )
            return
        _condition(
            status,
            old,
            "ScalingActive",
            "True",
            "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count",
        )
        desired, limited = self._normalize(hpa, behavior, proposed, current)
        if limited:
            _condition(
                status,
                old,
                "ScalingLimited",
                "True",
                limited,
                "the desired replica count is limited by the autoscaler's bounds or policies",
            )
        else:
            _condition(
                status,
                old,
                "ScalingLimited",
                "False",
                "DesiredWithinRange",
                "the desired count is within the acceptable range",
            )
        status.desired_replicas = desired
        if desired != current:
            await self.client.patch(
                kind, ref.name, scale.replicas_patch(desired), hpa.metadata.namespace
            )
            rules = self._rules(hpa)
            longest = max((p.period_seconds for r in rules for p in r.policies), default=0)
            behavior.scaled(clock.time(), current, desired, longest)
            status.last_scale_time.CopyFrom(meta.now())
            why = _rescale_reason(hpa.spec, current, desired, reason)
            self.recorder.emit(
                hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {why}"
            )

    async def _proposal(
        self, hpa: Any, selector: str, current: int, status: Any
    ) -> tuple[int, str]:
        namespace = hpa.metadata.namespace
        wanted = selectors.parse_label_selector(selector)
        pods = {
            p.metadata.name: p
            for p in self.pods.by_index("namespace", namespace)
            if wanted.matches(p.metadata.labels)
            and p.status.phase == "Running"
            and is_ready(p)
            and not p.metadata.HasField("deletion_timestamp")
        }
        listed = await self.metrics.ListPodMetrics(
            metrics_pb2.ListMetricsRequest(namespace=namespace, label_selector=selector)
        )
        items = [m for m in listed.items if m.metadata.name in pods]
        best, reason = -1, ""
        for metric in hpa.spec.metrics:
            resource, target = metric.resource.name, metric.resource.target
            usage = {m.metadata.name: _usage(m, resource) for m in items}
            requests = {n: _requests(pods[n], resource) for n in usage}
            proposal = hpa_replicas.resource_proposal(
                current,
                usage,
                requests,
                target_utilization=target.average_utilization
                if target.type == "Utilization"
                else None,
                target_average=parse_quantity(target.average_value)
                if target.type == "AverageValue"
                else None,
            )
            shown = status.current_metrics.add(type="Resource")
            shown.resource.name = resource
            shown.resource.current.average_value = _shown(resource, proposal.average)
            if proposal.utilization is not None:
                shown.resource.current.average_utilization = proposal.utilization
            if proposal.replicas > best:
                best = proposal.replicas
                reason = (
                    f"{resource} resource utilization (percentage of request) {{}} target"
                    if proposal.utilization is not None
                    else f"{resource} resource {{}} target"
                )
        return best, reason

    def _normalize(
        self, hpa: Any, behavior: Behavior, proposed: int, current: int
    ) -> tuple[int, str]:
        low, high = hpa.spec.min_replicas, hpa.spec.max_replicas
        if current > high:
            return high, "TooManyReplicas"
        if current < low:
            return low, "TooFewReplicas"
        up, down = self._rules(hpa)
        now = clock.time()
        stabilized = behavior.stabilize(now, proposed, current, up, down)
        return behavior.limit(now, stabilized, current, low, high, up, down)

    def _rules(self, hpa: Any) -> tuple[Rules, Rules]:
        """The scaling rules: the behavior's (defaulted), else Kubernetes'
        defaults with this controller's scale-down window."""
        behavior = hpa.spec.behavior
        if not hpa.spec.HasField("behavior"):
            down = scale_down_rules(None)
            down.stabilization_window_seconds = self.downscale_window
            return Rules.of(scale_up_rules(None)), Rules.of(down)
        up = behavior.scale_up if behavior.HasField("scale_up") else None
        down_rules = behavior.scale_down if behavior.HasField("scale_down") else None
        return Rules.of(scale_up_rules(up)), Rules.of(scale_down_rules(down_rules))

    async def _write_status(self, hpa: Any, status: Any) -> None:
        if status.SerializeToString(deterministic=True) == hpa.status.SerializeToString(
            deterministic=True
        ):
            return
        updated = autoscaling_pb2.HorizontalPodAutoscaler()
        updated.CopyFrom(hpa)
        updated.status.CopyFrom(status)
        await self.client.update_status(updated)


def _rescale_reason(spec: Any, current: int, desired: int, metric: str) -> str:
    """Kubernetes' rescaleReason: the metric that asked for the most, or bounds."""
    if current > spec.max_replicas:
        return "Current number of replicas above Spec.MaxReplicas"
    if current < spec.min_replicas:
        return "Current number of replicas below Spec.MinReplicas"
    return metric.format("above") if desired > current else "All metrics below target"


def horizontal_pod_autoscaler_factory(
    client: Client, options: dict[str, Any] | None = None
) -> HorizontalPodAutoscalerController:
    return HorizontalPodAutoscalerController(client, options=options)


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("horizontalpodautoscaler", horizontal_pod_autoscaler_factory)
