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
def server_command(
    data_dir: str, listen: str, store_name: str, log_format: str, log_level: str
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

    log.configure("apiserver", json=log_format == "json", level=log_level)
    asyncio.run(serve(pathlib.Path(data_dir).expanduser(), listen, store_name=store_name))
