"""``shoal version``: the client's version and, if reachable, the server's."""

from __future__ import annotations

import click
from shoal.ctl.context import CtlContext


@click.command("version")
@click.option("--client", "client_only", is_flag=True, help="Only the client's version.")
@click.pass_obj
def version_command(ctx: CtlContext, client_only: bool) -> None:
    """Print the client and server versions."""
    import asyncio

    import shoal

    click.echo(f"Client Version: v{shoal.__version__}")
    if client_only:
        return

    async def server_version() -> str:
        async with ctx.client() as client:
            answer = await client.version()
            return f"{answer.version} (store: {answer.store}, {answer.platform})"

    click.echo(f"Server Version: {asyncio.run(server_version())}")
