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


# -- run -i ----------------------------------------------------------------------

ENDED = ("Succeeded", "Failed")


async def _until_phase(
    client: Client, namespace: str, name: str, phases: tuple[str, ...], timeout: float
) -> Any:
    """The pod once its phase is one of ``phases``; ClickException at the deadline."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pod = await client.get("Pod", name, namespace)
        if pod.status.phase in phases:
            return pod
        if loop.time() > deadline:
            phase = pod.status.phase or "Pending"
            raise click.ClickException(f"timed out waiting for pod {name} to run ({phase})")
        await asyncio.sleep(0.1)


def _failure(pod: Any) -> tuple[int, str]:
    """A pod that failed: its container's exit code, and kubectl's words for it."""
    statuses = pod.status.container_statuses
    ended = statuses[0].state.terminated if statuses else None
    code = ended.exit_code if ended is not None and ended.exit_code else 1
    reason = ended.reason if ended is not None and ended.reason else "Error"
    return code, f"pod {pod.metadata.namespace}/{pod.metadata.name} terminated ({reason})"


def run_attached(
    ctx: Any, manifest: dict[str, Any], *, tty: bool, rm: bool, timeout: float
) -> None:
    """``kubectl run -i``: create the pod, attach to it once it runs (or print
    its log if it ended first), wait for a pod that does not restart to end,
    delete it with ``--rm``; a failed pod's exit code is ours."""
    import sys

    from shoal.ctl.streams import stream_logs
    from shoal.manifest import from_dict

    tty = terminal_wanted(tty)
    pod = from_dict(manifest)
    if not pod.metadata.namespace:
        pod.metadata.namespace = ctx.client_config().namespace

    async def work(client: Client) -> tuple[int, str]:
        created = await client.create(pod)
        namespace, name = created.metadata.namespace, created.metadata.name
        try:
            phases = ("Running", *ENDED)
            running = await _until_phase(client, namespace, name, phases, timeout)
            if running.status.phase == "Running":
                click.echo(PROMPT_HINT, err=True)
                options = {"stdin": True, "tty": tty, "container": ""}
                await run_exec(client, namespace, name, [], method="Attach", **options)
            else:
                await stream_logs(client, namespace, name, sys.stdout.buffer)
            if created.spec.restart_policy == "Always":
                return 0, ""
            ended = await _until_phase(client, namespace, name, ENDED, timeout)
            return _failure(ended) if ended.status.phase == "Failed" else (0, "")
        finally:
            if rm:
                await client.delete("Pod", name, namespace)
                click.echo(f'pod "{name}" deleted')

    with raw_terminal(tty):
        code, message = with_client(ctx, work)
    if code:
        click.echo(f"error: {message}", err=True)
        sys.exit(code)
