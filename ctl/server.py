"""``shoal server``: run the API server (the kernel) in the foreground."""

from __future__ import annotations

import pathlib
from typing import Any

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
@click.option(
    "--service-cluster-ip-range",
    default="10.96.0.0/12",
    show_default=True,
    metavar="CIDR",
    help="Range Service ClusterIPs are allocated from.",
)
@click.option(
    "--service-node-port-range",
    default="30000-32767",
    show_default=True,
    metavar="FIRST-LAST",
    help="Range NodePort Services get their node ports from.",
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
    service_cluster_ip_range: str,
    service_node_port_range: str,
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
    services = _service_allocator(service_cluster_ip_range, service_node_port_range)
    log.configure("apiserver", json=log_format == "json", level=log_level)
    asyncio.run(
        serve(
            pathlib.Path(data_dir).expanduser(),
            listen,
            store_name=store_name,
            controllers=controllers,
            leader_elect=leader_elect,
            node_monitor_grace_period=node_monitor_grace_period,
            services=services,
        )
    )


def _check_controllers(names: str) -> None:
    from shoal import plugin_manager
    from shoal.controlplane import ControlPlaneError, select_controllers

    try:
        select_controllers(plugin_manager.controllers().names(), names)
    except ControlPlaneError as err:
        raise click.BadParameter(str(err), param_hint="'--controllers'") from None


def _service_allocator(cluster_ip_range: str, node_port_range: str) -> Any:
    from shoal.apiserver.services import (
        ServiceAllocator,
        parse_cluster_ip_range,
        parse_port_range,
    )

    for parse, value, hint in (
        (parse_cluster_ip_range, cluster_ip_range, "'--service-cluster-ip-range'"),
        (parse_port_range, node_port_range, "'--service-node-port-range'"),
    ):
        try:
            parse(value)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint=hint) from None
    return ServiceAllocator(cluster_ip_range, node_port_range)
