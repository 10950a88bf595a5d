"""Options the long-running verbs share (`shoal server`,
`shoal controller-manager`): how they log, and which control plane they run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from shoal.ctl.duration import Duration

F = TypeVar("F", bound=Callable[..., Any])


def log_options(func: F) -> F:
    func = click.option("--log-level", default="info", show_default=True)(func)
    return click.option(
        "--log-format",
        type=click.Choice(["json", "console"]),
        default="json",
        show_default=True,
        help="JSON lines for machines, console lines for people.",
    )(func)


def control_plane_options(func: F) -> F:
    """--controllers, --leader-elect, --node-monitor-grace-period,
    --terminated-pod-gc-threshold, --scheduler-config and the horizontal pod
    autoscaler's periods."""
    func = click.option(
        "--horizontal-pod-autoscaler-downscale-stabilization",
        type=Duration(minimum=0),
        default="5m",
        show_default=True,
        help="The scale-down stabilization window of autoscalers without a behavior: "
        "they shrink to the highest recommendation within it.",
    )(func)
    func = click.option(
        "--horizontal-pod-autoscaler-sync-period",
        type=Duration(minimum=0.1),
        default="15s",
        show_default=True,
        help="How often each HorizontalPodAutoscaler reads its metrics and rescales.",
    )(func)
    func = click.option(
        "--scheduler-config",
        type=click.Path(dir_okay=False),
        default="",
        metavar="FILE",
        help="A KubeSchedulerConfiguration (YAML): scheduler profiles, plugin order "
        "per extension point, score weights (docs/scheduler.md).",
    )(func)
    func = click.option(
        "--terminated-pod-gc-threshold",
        type=click.IntRange(min=0),
        default=12500,
        show_default=True,
        help="Succeeded and Failed pods kept before the oldest are deleted (0: keep all).",
    )(func)
    func = click.option(
        "--node-monitor-grace-period",
        type=Duration(minimum=0.1),
        default="40s",
        show_default=True,
        help="How long a node may miss its Lease before it is marked Unknown (e.g. 40s, 1m).",
    )(func)
    func = click.option(
        "--leader-elect/--no-leader-elect",
        default=True,
        show_default=True,
        help="Hold a Lease before running controllers, so several copies can stand by.",
    )(func)
    return click.option(
        "--controllers",
        default="*",
        show_default=True,
        metavar="NAME,...|*|-",
        help="Controllers to run: '*' all, '-' none, '*,-name' all but one.",
    )(func)


def autoscaler_options(sync_period: float, downscale_stabilization: float) -> dict[str, float]:
    """The controller options of the autoscaler flags (Kubernetes' names)."""
    return {
        "horizontal_pod_autoscaler_sync_period": sync_period,
        "horizontal_pod_autoscaler_downscale_stabilization": downscale_stabilization,
    }


def check_controllers(names: str) -> None:
    from shoal import plugin_manager
    from shoal.controlplane import ControlPlaneError, select_controllers

    try:
        select_controllers(plugin_manager.controllers().names(), names)
    except ControlPlaneError as err:
        raise click.BadParameter(str(err), param_hint="'--controllers'") from None


def check_scheduler_config(path: str) -> dict[str, Any] | None:
    """The parsed --scheduler-config file, checked against the registered
    scheduler plugins (a bad file fails here, before anything starts)."""
    if not path:
        return None
    import yaml
    from shoal import plugin_manager
    from shoal.plugins.scheduler.profile import SchedulerConfigError, load_scheduler_config

    try:
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
        load_scheduler_config(doc, plugin_manager.scheduler_plugins().items())
    except (OSError, yaml.YAMLError, SchedulerConfigError) as err:
        message = str(err).replace("\n", " ")
        raise click.BadParameter(message, param_hint="'--scheduler-config'") from None
    return doc  # type: ignore[no-any-return]
