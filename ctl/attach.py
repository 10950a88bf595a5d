"""``shoal attach``: kubectl attach, to the main process of a running
container, through the API server to the agent of the pod's node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from shoal.ctl.resources import with_client
from shoal.ctl.streams import raw_terminal, resolve_pod, run_exec, terminal_wanted

if TYPE_CHECKING:
    from shoal.client import Client

PROMPT_HINT = "If you don't see a command prompt, try pressing enter."


@click.command("attach")
@click.argument("pod")
@click.option("-c", "--container", default="", help="The container (needed when several).")
@click.option("-i", "--stdin", is_flag=True, help="Pass stdin to the container's process.")
@click.option("-t", "--tty", is_flag=True, help="Stdin is a terminal (the container has tty).")
@click.option("-q", "--quiet", is_flag=True, help="Print only what the process writes.")
@click.pass_obj
def attach_command(ctx: Any, pod: str, quiet: bool, **options: Any) -> None:
    """Attach to the main process of a running container: see what it
    writes from now on and, with -i, type into it (its container must be
    made with stdin: true). Ends when the process does; closing stdin
    detaches, and ends the process's stdin if it has stdinOnce.

    \b
    Examples:
      shoal attach web
      shoal attach -it shell -c main
      shoal attach deploy/web
    """
    options["tty"] = tty = terminal_wanted(options["tty"])

    async def work(client: Client) -> int:
        namespace = ctx.client_config().namespace
        pod_name = await resolve_pod(client, namespace, pod)
        if options["stdin"] and not quiet:
            click.echo(PROMPT_HINT, err=True)
        return await run_exec(client, namespace, pod_name, [], method="Attach", **options)

    with raw_terminal(tty):
        with_client(ctx, work)
