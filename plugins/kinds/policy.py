"""The ``policy/v1`` kinds: PodDisruptionBudget, and Eviction, the body of a
pod's ``eviction`` subresource (``kubectl drain``, ``shoal drain``).

An eviction deletes its pod only if every budget covering the pod allows a
disruption now; it then counts the pod in the budget's ``disruptedPods`` so a
second eviction racing the first cannot take the budget below its floor. The
disruption controller (``shoal.plugins.controllers.disruption``) keeps each
budget's status from the pods it covers.
"""

from __future__ import annotations

from typing import Any

from shoal import errors, hookimpl, selectors
from shoal.age import age
from shoal.api.v1 import policy_pb2
from shoal.apiserver import meta
from shoal.apiserver.objects import DeleteOptions
from shoal.kinds import Kind
from shoal.plugins.kinds import podconditions
from shoal.plugins.kinds._register import kind, register_all
from shoal.plugins.kinds.core import POD
from shoal.registry import Registry
from shoal.strategy import Causes, StorageContext, Strategy, Table

API_VERSION = "policy/v1"
UNHEALTHY_POLICIES = ("IfHealthyBudget", "AlwaysAllow")
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
# Reads of the budget after a write conflict, as Kubernetes' EvictionsRetry.
EVICTION_CONFLICT_RETRIES = 20


def _int_or_percent(path: str, value: Any) -> Causes:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        if value.number_value < 0 or value.number_value != int(value.number_value):
            return [(path, f"Invalid value: {value.number_value}: must be a non-negative integer")]
        return []
    if kind == "string_value":
        text = value.string_value
        digits = text[:-1]
        if not text.endswith("%") or not digits.isdigit() or int(digits) > 100:
            return [(path, f'Invalid value: "{text}": must be an integer or a percentage 0-100%')]
        return []
    return [(path, "Invalid value: must be an integer or a percentage")]


def _shown(value: Any) -> str:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return str(int(value.number_value))
    return value.string_value if kind == "string_value" else "N/A"


def _cells(obj: dict[str, Any], now: float) -> list[str]:
    meta_ = obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        str(spec["minAvailable"]) if "minAvailable" in spec else "N/A",
        str(spec["maxUnavailable"]) if "maxUnavailable" in spec else "N/A",
        str(status.get("disruptionsAllowed", 0)),
        age(meta_.get("creationTimestamp", ""), now),
    ]


class PodDisruptionBudgetStrategy(Strategy):
    reset_status_on_create = True
    table = Table(("MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"), _cells)

    def validate(self, obj: Any) -> Causes:
        spec = obj.spec
        causes: Causes = []
        has_min, has_max = spec.HasField("min_available"), spec.HasField("max_unavailable")
        if has_min and has_max:
            causes.append(
                ("spec", "Invalid value: minAvailable and maxUnavailable cannot be both set")
            )
        if has_min:
            causes += _int_or_percent("spec.minAvailable", spec.min_available)
        if has_max:
            causes += _int_or_percent("spec.maxUnavailable", spec.max_unavailable)
        if spec.HasField("selector"):
            try:
                selectors.label_selector_from_proto(spec.selector)
            except selectors.SelectorError as err:
                causes.append(("spec.selector", f"Invalid value: {err}"))
        policy = spec.unhealthy_pod_eviction_policy
        if spec.HasField("unhealthy_pod_eviction_policy") and policy not in UNHEALTHY_POLICIES:
            allowed = ", ".join(f'"{p}"' for p in UNHEALTHY_POLICIES)
            causes.append(
                ("spec.unhealthyPodEvictionPolicy",
                 f'Unsupported value: "{policy}": supported values: {allowed}')
            )  # fmt: skip
        return causes


PDB = kind(
    "PodDisruptionBudget",
    API_VERSION,
    policy_pb2.PodDisruptionBudget,
    ("pdb",),
    strategy=PodDisruptionBudgetStrategy(),
    has_status=True,
)


def covers(pdb: Any, pod: Any) -> bool:
    """An unset selector covers no pod; an empty one every pod of the namespace."""
    if pdb.metadata.namespace != pod.metadata.namespace or not pdb.spec.HasField("selector"):
        return False
    return selectors.label_selector_from_proto(pdb.spec.selector).matches(pod.metadata.labels)


def _is_ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


class EvictionStrategy(Strategy):
    """Create-only: an Eviction is applied to its pod, never stored; REST
    clients POST it to pods/NAME/eviction."""

    stored = False
    subresource_of = ("pods", "eviction")

    async def create_unstored(
        self, context: StorageContext, obj: Any, *, dry_run: bool, user: str
    ) -> Any:
        namespace, name = obj.metadata.namespace or "default", obj.metadata.name
        if not name:
            raise errors.invalid("Eviction", name, [("metadata.name", "Required value")], "policy")
        dry_run = _dry_run(name, obj.delete_options, dry_run)
        pod = await context.get(POD, namespace, name)
        _check_preconditions(pod, obj.delete_options)
        if not _disruption_free(pod):
            await self._check_budget(context, pod, dry_run=dry_run, user=user)
        if not dry_run:
            if not (podconditions.is_finished(pod) or pod.metadata.HasField("deletion_timestamp")):
                # Why the pod goes, before it goes (a Job's pod failure policy reads it).
                uid = pod.metadata.uid
                await context.guaranteed_update(
                    POD, namespace, name, lambda p: _evicting(p, uid), user=user
                )
            await context.delete(POD, namespace, name, _delete_options(obj), user=user)
        return obj

    async def _check_budget(
        self, context: StorageContext, pod: Any, *, dry_run: bool, user: str
    ) -> None:
        """Take one disruption from the pod's budget. Another eviction
        taking from the same budget at the same time makes the write
        conflict; then the budget is read again and checked again, as
        Kubernetes' eviction does (``EvictionsRetry``), so concurrent
        evictions get 429 or succeed, never 409."""
        for attempt in range(EVICTION_CONFLICT_RETRIES):
            budget = await self._budget(context, pod)
            if budget is None or (
                budget.spec.unhealthy_pod_eviction_policy == "AlwaysAllow" and not _is_ready(pod)
            ):
                return
            try:
                await self._take(context, budget, pod, dry_run=dry_run, user=user)
                return
            except errors.ConflictError:
                if attempt == EVICTION_CONFLICT_RETRIES - 1:
                    raise

    async def _budget(self, context: StorageContext, pod: Any) -> Any:
        found = [
            pdb
            for pdb in (await context.list(PDB, pod.metadata.namespace)).items
            if covers(pdb, pod)
        ]
        if len(found) > 1:
            raise errors.PreconditionFailedError(
                "This pod has more than one PodDisruptionBudget, which the eviction "
                "subresource does not support."
            )
        return found[0] if found else None

    async def _take(
        self, context: StorageContext, budget: Any, pod: Any, *, dry_run: bool, user: str
    ) -> None:
        """Count one disruption against the budget, or refuse with 429."""
        pod_name = pod.metadata.name

        def take(current: Any) -> Any:
            status = current.status
            if status.observed_generation < current.metadata.generation:
                raise _refused(f"The disruption budget {current.metadata.name} is still "
                               "being processed by the server.")  # fmt: skip
            if status.disruptions_allowed <= 0:
                raise _refused(
                    f"The disruption budget {current.metadata.name} needs "
                    f"{status.desired_healthy} healthy pods and has {status.current_healthy} "
                    "currently"
                )
            status.disruptions_allowed -= 1
            status.disrupted_pods[pod_name].CopyFrom(meta.now())
            return current

        await context.guaranteed_update(
            PDB,
            budget.metadata.namespace,
            budget.metadata.name,
            take,
            budget.metadata.resource_version,
            dry_run=dry_run,
            user=user,
        )


def _disruption_free(pod: Any) -> bool:
    """Pods whose eviction disrupts nothing: finished, or not yet running."""
    return pod.status.phase in ("Succeeded", "Failed", "Pending") or pod.metadata.HasField(
        "deletion_timestamp"
    )


def _refused(cause: str) -> errors.TooManyRequestsError:
    # No Retry-After, as Kubernetes: the client (drain) decides when to ask again.
    err = errors.TooManyRequestsError(VIOLATION)
    err.causes = [("DisruptionBudget", cause)]
    return err


def _dry_run(name: str, options: Any, requested: bool) -> bool:
    """Kubernetes' propagateDryRun: the request's dryRun or the one in the
    eviction's deleteOptions (kubectl drain --dry-run=server sends only the
    latter); "All" is the only value."""
    causes = [
        ("deleteOptions.dryRun", f'Unsupported value: "{value}": supported values: "All"')
        for value in options.dry_run
        if value != "All"
    ]
    if causes:
        raise errors.invalid("Eviction", name, causes, "policy")
    return requested or bool(options.dry_run)


def _evicting(pod: Any, uid: str) -> Any:
    if pod.metadata.uid != uid:  # another pod by that name since: the delete refuses it
        return pod
    return podconditions.set_disruption_target(pod, podconditions.EVICTION)


def _check_preconditions(pod: Any, options: Any) -> None:
    wanted = options.preconditions
    if wanted.HasField("uid") and wanted.uid != pod.metadata.uid:
        raise errors.PreconditionFailedError(
            f"Precondition failed: UID in precondition: {wanted.uid}, UID in object meta: "
            f"{pod.metadata.uid}"
        )
    if wanted.HasField("resource_version") and wanted.resource_version != (
        pod.metadata.resource_version
    ):
        raise errors.conflict("pods", pod.metadata.name)


def _delete_options(eviction: Any) -> DeleteOptions:
    opts = eviction.delete_options
    grace = opts.grace_period_seconds if opts.HasField("grace_period_seconds") else None
    return DeleteOptions(grace_period_seconds=grace, propagation_policy=opts.propagation_policy)


EVICTION = kind("Eviction", API_VERSION, policy_pb2.Eviction, strategy=EvictionStrategy())


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    register_all(registry, PDB, EVICTION)


__all__ = ["EVICTION", "PDB", "covers"]
