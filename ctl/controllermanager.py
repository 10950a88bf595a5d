"""``shoal controller-manager``: the control plane (scheduler and
controllers) in its own process, against a running API server."""

from __future__ import annotations

from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.daemonopts import (
    check_controllers,
    check_scheduler_config,
    control_plane_options,
    log_options,
)


@click.command("controller-manager")
@control_plane_options
@log_options
@click.pass_obj
def controller_manager_command(
    ctx: CtlContext,
    controllers: str,
    leader_elect: bool,
    node_monitor_grace_period: float,
    scheduler_config: str,
    log_format: str,
    log_level: str,
) -> None:
    """Run the scheduler and controllers against an API server.

    \b
    Examples:
      shoal --server 127.0.0.1:6443 controller-manager
      shoal --server 127.0.0.1:6443 controller-manager --controllers scheduler
    """
    import asyncio

    from shoal import log

    check_controllers(controllers)
    config = check_scheduler_config(scheduler_config)
    log.configure("controller-manager", json=log_format == "json", level=log_level)
    asyncio.run(_run(ctx, controllers, leader_elect, node_monitor_grace_period, config))


async def _run(
    ctx: CtlContext, controllers: str, leader_elect: bool, grace: float, config: Any
) -> None:
    import asyncio
    import signal

    from shoal.controlplane import ControlPlane, ControlPlaneOptions

    cfg = ctx.client_config()
    client = ctx.client()
    # The CA the config trusts is the cluster's: root-ca-cert-publisher
    # puts it in each namespace's kube-root-ca.crt.
    extra = {"root_ca_pem": cfg.ca_data} if cfg.ca_data else {}
    options = ControlPlaneOptions(node_monitor_grace_period=grace, extra=extra)
    if config is not None:
        options.extra["scheduler_config"] = config
    control_plane = ControlPlane(client, controllers, leader_elect=leader_elect, options=options)
    control_plane.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await control_plane.stop()
    await client.close()
