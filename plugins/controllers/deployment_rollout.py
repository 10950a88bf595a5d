"""How a Deployment moves between ReplicaSets: RollingUpdate, Recreate,
scaling while paused or mid-rollout, and the status and conditions that
``rollout status`` reads (Kubernetes' ``rolling.go``, ``recreate.go``,
``sync.go`` and ``progress.go``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shoal.plugins.controllers import deployment_util as du
from shoal.plugins.controllers import podutil

if TYPE_CHECKING:
    from shoal.plugins.controllers.deployment import DeploymentController

# While waiting for old pods to go (Recreate), look again this often.
RECREATE_POLL = 1.0


async def sync(c: DeploymentController, deploy: Any, sets: list[Any]) -> float | None:
    original = podutil.copy(deploy.status)
    if deploy.metadata.HasField("deletion_timestamp"):
        new, _ = du.split_sets(deploy, sets)
        return await write_status(c, deploy, original, sets, new)
    _paused_condition(deploy)
    if deploy.spec.paused or _is_scaling_event(deploy, sets):
        return await scale_only(c, deploy, original, sets)
    if deploy.spec.strategy.type == "Recreate":
        return await recreate(c, deploy, original, sets)
    return await rolling(c, deploy, original, sets)


def _others(sets: list[Any], new: Any | None) -> list[Any]:
    uid = new.metadata.uid if new is not None else None
    return sorted(
        (rs for rs in sets if rs.metadata.uid != uid),
        key=lambda rs: (rs.metadata.creation_timestamp.seconds, rs.metadata.name),
    )


def _is_scaling_event(deploy: Any, sets: list[Any]) -> bool:
    """The Deployment's size changed since its active sets were last sized."""
    new, _ = du.split_sets(deploy, sets)
    if new is None:
        return False  # a new template: a rollout, not a scaling
    wanted = str(deploy.spec.replicas)
    active = [rs for rs in sets if rs.spec.replicas > 0]
    return any(rs.metadata.annotations.get(du.DESIRED_REPLICAS, wanted) != wanted for rs in active)


# -- RollingUpdate ------------------------------------------------------------------


async def rolling(c: DeploymentController, deploy: Any, original: Any, sets: list[Any]) -> Any:
    new = await c.sync_new_set(deploy, sets, create=True)
    old = _others(sets, new)
    if await _reconcile_new(c, deploy, new, old):
        return await write_status(c, deploy, original, sets, new)
    new = _fresh(c, new)
    if await _reconcile_old(c, deploy, new, old):
        return await write_status(c, deploy, original, sets, new)
    if _complete(deploy, new, old):
        await c.cleanup_history(deploy, old)
    return await write_status(c, deploy, original, sets, new)


def _fresh(c: DeploymentController, rs: Any) -> Any:
    cached = c.sets.get(rs.metadata.name, rs.metadata.namespace)
    if cached is None or cached.metadata.uid != rs.metadata.uid:
        return rs
    newer = int(cached.metadata.resource_version) >= int(rs.metadata.resource_version or 0)
    return cached if newer else rs


async def _reconcile_new(c: DeploymentController, deploy: Any, new: Any, old: list[Any]) -> bool:
    if new.spec.replicas > deploy.spec.replicas:
        await c.scale(deploy, new, deploy.spec.replicas)
        return True
    target = du.new_rs_replicas(deploy, [*old, new], new)
    if target == new.spec.replicas:
        return False
    await c.scale(deploy, new, target)
    return True


async def _reconcile_old(c: DeploymentController, deploy: Any, new: Any, old: list[Any]) -> bool:
    """Scale old sets down as far as ``maxUnavailable`` allows: first their
    unhealthy pods, then healthy ones while enough stay available."""
    if sum(rs.spec.replicas for rs in old) == 0:
        return False
    min_available = deploy.spec.replicas - du.max_unavailable(deploy)
    new_unavailable = new.spec.replicas - min(new.status.available_replicas, new.spec.replicas)
    budget = du.pod_count([*old, new]) - min_available - new_unavailable
    if budget <= 0:
        return False
    old, cleaned = await _cleanup_unhealthy(c, deploy, old, budget)
    available = du.available_count([*old, new])
    scaled = 0
    for rs in old:
        room = available - min_available - scaled
        if room <= 0:
            break
        step = min(rs.spec.replicas, room)
        if step > 0:
            await c.scale(deploy, rs, rs.spec.replicas - step)
            scaled += step
    return cleaned + scaled > 0


async def _cleanup_unhealthy(
    c: DeploymentController, deploy: Any, old: list[Any], budget: int
) -> tuple[list[Any], int]:
    result, cleaned = [], 0
    for rs in old:
        unhealthy = rs.spec.replicas - min(rs.status.available_replicas, rs.spec.replicas)
        step = min(unhealthy, budget - cleaned)
        if step > 0:
            rs = await c.scale(deploy, rs, rs.spec.replicas - step)
            cleaned += step
        result.append(rs)
    return result, cleaned


def _complete(deploy: Any, new: Any | None, old: list[Any]) -> bool:
    return (
        new is not None
        and new.spec.replicas == deploy.spec.replicas
        and new.status.available_replicas == deploy.spec.replicas
        and all(rs.spec.replicas == 0 for rs in old)
    )


# -- Recreate -----------------------------------------------------------------------


async def recreate(c: DeploymentController, deploy: Any, original: Any, sets: list[Any]) -> Any:
    """Every old pod goes before any new one starts."""
    new = await c.sync_new_set(deploy, sets, create=False)
    old = _others(sets, new)
    scaled = False
    for rs in old:
        if rs.spec.replicas > 0:
            await c.scale(deploy, rs, 0)
            scaled = True
    if scaled:
        return await write_status(c, deploy, original, sets, new)
    if await _old_pods_running(c, deploy, old):
        await write_status(c, deploy, original, sets, new)
        return RECREATE_POLL
    if new is None:
        new = await c.sync_new_set(deploy, sets, create=True)
    elif new.spec.replicas != deploy.spec.replicas:
        await c.scale(deploy, new, deploy.spec.replicas)
    if _complete(deploy, new, old):
        await c.cleanup_history(deploy, old)
    return await write_status(c, deploy, original, sets, new)


async def _old_pods_running(c: DeploymentController, deploy: Any, old: list[Any]) -> bool:
    uids = {rs.metadata.uid for rs in old}
    if not uids:
        return False
    pods = await c.client.list("Pod", deploy.metadata.namespace)
    for pod in pods.items:
        ref = podutil.controller_of(pod)
        if ref is not None and ref.uid in uids and pod.status.phase not in ("Succeeded", "Failed"):
            return True
    return False


# -- paused, or resized mid-rollout ---------------------------------------------------


async def scale_only(c: DeploymentController, deploy: Any, original: Any, sets: list[Any]) -> Any:
    """Resize without rolling: the one active set takes the new size, or
    several share it in proportion to their sizes."""
    new = await c.sync_new_set(deploy, sets, create=False)
    old = _others(sets, new)
    active = [rs for rs in [new, *old] if rs is not None and rs.spec.replicas > 0]
    if len(active) <= 1:
        target = active[0] if active else new
        if target is not None:
            await c.scale(deploy, target, deploy.spec.replicas)
    else:
        await _scale_proportionally(c, deploy, active)
    if deploy.spec.paused and _complete(deploy, new, old):
        await c.cleanup_history(deploy, old)
    return await write_status(c, deploy, original, sets, new)


async def _scale_proportionally(c: DeploymentController, deploy: Any, active: list[Any]) -> None:
    surge = du.max_surge(deploy)
    current = sum(rs.spec.replicas for rs in active)
    delta = deploy.spec.replicas + surge - current
    for rs, size in zip(
        active, du.proportional_sizes([rs.spec.replicas for rs in active], delta), strict=True
    ):
        await c.scale(deploy, rs, size)


def _paused_condition(deploy: Any) -> None:
    current = du.get_condition(deploy.status, "Progressing")
    if deploy.spec.paused and (current is None or current.reason != "DeploymentPaused"):
        du.set_condition(
            deploy.status, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"
        )
    elif not deploy.spec.paused and current is not None and current.reason == "DeploymentPaused":
        du.set_condition(
            deploy.status, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"
        )


# -- status -----------------------------------------------------------------------------


async def write_status(
    c: DeploymentController, deploy: Any, original: Any, sets: list[Any], new: Any | None
) -> float | None:
    """Compute status and conditions from the sets as the cache now has
    them; write them if they changed. Returns when to look again for the
    progress deadline."""
    fresh = [_fresh(c, rs) for rs in sets]
    if new is not None and all(rs.metadata.uid != new.metadata.uid for rs in fresh):
        fresh.append(_fresh(c, new))
    new = _fresh(c, new) if new is not None else None
    status = calculate_status(deploy, fresh, new)
    requeue = None if deploy.spec.paused else du.progress(deploy, original, status, new)
    if status != original:
        updated = podutil.copy(deploy)
        updated.status.CopyFrom(status)
        await c.client.update_status(updated)
    return requeue


def calculate_status(deploy: Any, sets: list[Any], new: Any | None) -> Any:
    status = podutil.copy(deploy.status)
    status.replicas = sum(rs.status.replicas for rs in sets)
    status.updated_replicas = new.status.replicas if new is not None else 0
    status.ready_replicas = sum(rs.status.ready_replicas for rs in sets)
    status.available_replicas = sum(rs.status.available_replicas for rs in sets)
    status.unavailable_replicas = max(deploy.spec.replicas - status.available_replicas, 0)
    status.observed_generation = deploy.metadata.generation
    if status.available_replicas >= deploy.spec.replicas - du.max_unavailable(deploy):
        du.set_condition(
            status,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    else:
        du.set_condition(
            status,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    return status
