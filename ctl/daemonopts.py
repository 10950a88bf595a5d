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
    """--controllers, --leader-elect and --node-monitor-grace-period."""
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


def check_controllers(names: str) -> None:
    from shoal import plugin_manager
    from shoal.controlplane import ControlPlaneError, select_controllers

    try:
        select_controllers(plugin_manager.controllers().names(), names)
    except ControlPlaneError as err:
        raise click.BadParameter(str(err), param_hint="'--controllers'") from None
