"""The built-in scheduler as a plugin: its filter and score policies through
``register_scheduler_plugins`` (exactly as a third-party policy registers),
and the scheduler itself through ``register_controllers`` under the
``shoal-scheduler`` Lease."""

from __future__ import annotations

from typing import Any

from shoal import hookimpl
from shoal.plugins.scheduler import filters, preemption, scores, spread
from shoal.plugins.scheduler.volumebinding import VolumeBinding
from shoal.registry import Registry

SCHEDULER_LEASE = "shoal-scheduler"


def scheduler_factory(client: Any, options: dict[str, Any] | None = None) -> Any:
    """``register_controllers`` factory: a Scheduler with every registered
    plugin, in the profiles of ``options["scheduler_config"]`` (a
    KubeSchedulerConfiguration file or dict) if given."""
    from shoal import plugin_manager
    from shoal.plugins.scheduler.profile import load_scheduler_config
    from shoal.plugins.scheduler.scheduler import Scheduler

    config = (options or {}).get("scheduler_config")
    if not config:
        return Scheduler(client)
    plugins = plugin_manager.scheduler_plugins().items()
    return Scheduler(client, plugins=plugins, profiles=load_scheduler_config(config, plugins))


scheduler_factory.lease_name = SCHEDULER_LEASE  # type: ignore[attr-defined]


@hookimpl
def register_scheduler_plugins(registry: Registry[Any]) -> None:
    # Filters run in this order and stop at a node's first failure.
    registry.register("NodeReady", filters.NodeReady())
    registry.register("TaintToleration", filters.TaintToleration())
    registry.register("NodeAffinity", filters.NodeAffinity())
    registry.register("NodePorts", filters.NodePorts())
    registry.register("NodeResourcesFit", filters.NodeResourcesFit())
    registry.register("InterPodAffinity", filters.InterPodAffinity())
    registry.register("PodTopologySpread", spread.PodTopologySpread())
    registry.register("VolumeBinding", VolumeBinding())
    registry.register("LeastAllocated", scores.LeastAllocated())
    registry.register("BalancedAllocation", scores.BalancedAllocation())
    registry.register("SelectorSpread", scores.SelectorSpread())
    registry.register("NodeAffinityPreferred", scores.NodeAffinityPreferred())
    registry.register("InterPodAffinityPreferred", scores.InterPodAffinityPreferred())
    registry.register("TaintTolerationPreferred", scores.TaintTolerationPreferred())
    registry.register("DefaultPreemption", preemption.DefaultPreemption())


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("scheduler", scheduler_factory)
