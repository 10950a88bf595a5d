"""``shoal proxy``: serve the Kubernetes HTTP API on localhost, like
``kubectl proxy``, so curl, browsers and kubectl reach the cluster with the
user's own config."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import click
from shoal.ctl.context import CtlContext


async def run_proxy(
    ctx: CtlContext, address: str, port: int, ready: asyncio.Future[str] | None = None
) -> None:
    """Serve until SIGINT/SIGTERM; ``ready`` gets the URL once bound."""
    from shoal.plugins.gateway import Gateway

    cfg = ctx.client_config()
    client = ctx.client()
    gateway = Gateway(client)
    try:
        bound = await gateway.start(
            f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        )
        click.echo(f"Starting to serve on {address}:{bound} (cluster {cfg.server})")
        if ready is not None:
            ready.set_result(gateway.url)
        await _wait_for_signal()
    finally:
        await gateway.stop()
        await client.close()


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@click.command("proxy")
@click.option("-p", "--port", default=8001, show_default=True, type=click.IntRange(0, 65535),
              help="Port to serve on (0 picks a free one).")  # fmt: skip
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Address to serve on.")  # fmt: skip
@click.pass_obj
def proxy_command(ctx: Any, port: int, address: str) -> None:
    """Serve the Kubernetes HTTP API on localhost.

    Requests go to the cluster of your config, as you. The API answers at
    /api/v1/..., /apis/apps/v1/..., /version; a pod's own port at
    /api/v1/namespaces/NS/pods/NAME/proxy/.

    \b
    Examples:
      shoal proxy &
      curl http://localhost:8001/version
      curl http://localhost:8001/api/v1/namespaces/default/pods
      kubectl --server http://127.0.0.1:8001 get pods
    """
    try:
        asyncio.run(run_proxy(ctx, address, port))
    except OSError as err:
        message = f"cannot serve on {address}:{port}: {err.strerror or err}"
        raise click.ClickException(message) from None
