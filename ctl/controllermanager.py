"""``shoal controller-manager``: the control plane (scheduler and
controllers) in its own process, against a running API server."""

from __future__ import annotations

from typing import Any

import click
import structlog
from shoal.ctl.context import CtlContext
from shoal.ctl.daemonopts import (
    autoscaler_options,
    check_controllers,
    check_scheduler_config,
    control_plane_options,
    log_options,
)

log = structlog.get_logger("controller-manager")
DEFAULT_PORT = 10257  # kube-controller-manager's; a free one if another has it


@click.command("controller-manager")
@control_plane_options
@click.option(
    "--metrics-listen",
    default=f"127.0.0.1:{DEFAULT_PORT}",
    show_default=True,
    metavar="HOST:PORT",
    help="Where /metrics is served, plain HTTP (keep it on loopback; none: off).",
)
@log_options
@click.pass_obj
def controller_manager_command(
    ctx: CtlContext,
    controllers: str,
    leader_elect: bool,
    node_monitor_grace_period: float,
    terminated_pod_gc_threshold: int,
    scheduler_config: str,
    horizontal_pod_autoscaler_sync_period: float,
    horizontal_pod_autoscaler_downscale_stabilization: float,
    metrics_listen: str,
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
    autoscaling = autoscaler_options(
        horizontal_pod_autoscaler_sync_period, horizontal_pod_autoscaler_downscale_stabilization
    )
    asyncio.run(
        _run(
            ctx,
            controllers,
            leader_elect,
            node_monitor_grace_period,
            config,
            metrics_listen,
            autoscaling,
            terminated_pod_gc_threshold,
        )
    )


async def _run(
    ctx: CtlContext,
    controllers: str,
    leader_elect: bool,
    grace: float,
    config: Any,
    metrics_listen: str,
    autoscaling: dict[str, float],
    terminated_pod_gc_threshold: int = 12500,
) -> None:
    import asyncio
    import signal

    from shoal import metrics
    from shoal.controlplane import ControlPlane, ControlPlaneOptions

    runner = None
    if metrics_listen != "none":
        try:
            runner, port = await metrics.serve(metrics_listen, default_port=DEFAULT_PORT)
        except (OSError, ValueError) as err:
            raise click.ClickException(f"cannot serve metrics on {metrics_listen}: {err}") from None
        log.info("serving metrics", listen=metrics_listen, port=port)
    cfg = ctx.client_config()
    client = ctx.client()
    # The CA the config trusts is the cluster's: root-ca-cert-publisher
    # puts it in each namespace's kube-root-ca.crt.
    extra: dict[str, Any] = {"root_ca_pem": cfg.ca_data} if cfg.ca_data else {}
    extra.update(autoscaling)
    options = ControlPlaneOptions(
        node_monitor_grace_period=grace,
        terminated_pod_gc_threshold=terminated_pod_gc_threshold,
        extra=extra,
    )
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
    if runner is not None:
        await runner.cleanup()
