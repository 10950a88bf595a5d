"""``shoal server``: run the API server (the kernel) in the foreground."""

from __future__ import annotations

import pathlib

import click


@click.command("server")
@click.option(
    "--data-dir",
    default="~/.shoal/server",
    show_default=True,
    help="Where the store and the admin config live.",
)
@click.option(
    "--listen",
    default="127.0.0.1:6443",
    show_default=True,
    metavar="HOST:PORT",
    help="Address to serve gRPC on (port 0 picks a free one).",
)
@click.option(
    "--store",
    "store_name",
    default="sqlite",
    show_default=True,
    help="Store backend (a registered store plugin).",
)
@click.option(
    "--log-format", type=click.Choice(["json", "console"]), default="json", show_default=True
)
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--controllers",
    default="*",
    show_default=True,
    metavar="NAME,...|*|-",
    help="Controllers to run in this process: '*' all, '-' none, '*,-name' all but one.",
)
@click.option(
    "--leader-elect/--no-leader-elect",
    default=True,
    show_default=True,
    help="Hold a Lease before running controllers, so several servers can stand by.",
)
@click.option(
    "--node-monitor-grace-period",
    type=click.FloatRange(min=0.1),
    default=40.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a node may miss its Lease before it is marked Unknown.",
)
def server_command(
    data_dir: str,
    listen: str,
    store_name: str,
    log_format: str,
    log_level: str,
    controllers: str,
    leader_elect: bool,
    node_monitor_grace_period: float,
) -> None:
    """Run the API server.

    \b
    Examples:
      shoal server --data-dir ./data --listen 127.0.0.1:6443
      SHOAL_CONFIG=./data/admin.conf shoal version
    """
    import asyncio

    from shoal import log
    from shoal.apiserver.server import serve

    _check_controllers(controllers)
    log.configure("apiserver", json=log_format == "json", level=log_level)
    asyncio.run(
        serve(
            pathlib.Path(data_dir).expanduser(),
            listen,
            store_name=store_name,
            controllers=controllers,
            leader_elect=leader_elect,
            node_monitor_grace_period=node_monitor_grace_period,
        )
    )


def _check_controllers(names: str) -> None:
    from shoal import plugin_manager
    from shoal.controlplane import ControlPlaneError, select_controllers

    try:
        select_controllers(plugin_manager.controllers().names(), names)
    except ControlPlaneError as err:
        raise click.BadParameter(str(err), param_hint="'--controllers'") from None
