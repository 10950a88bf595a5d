"""What the cluster offers and how it is: ``api-resources``, ``cluster-info``,
``events``, ``get componentstatuses`` and shell ``completion``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.printers.flags import printer_options
from shoal.ctl.resources import parse_targets, with_client

if TYPE_CHECKING:
    from shoal.client import Client
    from shoal.ctl.printers import Printer


@click.command("api-resources")
@click.option("--namespaced", type=bool, default=None, help="Only (non-)namespaced kinds.")
@click.option("-o", "--output", default="", help="name: just the names.")
@click.pass_obj
def api_resources_command(ctx: CtlContext, namespaced: bool | None, output: str) -> None:
    """Print the kinds the server serves, with their short names.

    \b
    Examples:
      shoal api-resources
      shoal api-resources --namespaced=false -o name
    """
    from shoal.ctl.printers.table import render

    served = with_client(ctx, lambda client: client.kinds())
    chosen = [k for k in served if namespaced is None or k.namespaced == namespaced]
    chosen.sort(key=lambda k: k.plural)
    if output == "name":
        for k in chosen:
            group = k.api_version.rpartition("/")[0]
            click.echo(f"{k.plural}.{group}" if group else k.plural)
        return
    rows = [
        [k.plural, ",".join(k.short_names), k.api_version, str(k.namespaced).lower(), k.kind]
        for k in chosen
    ]
    click.echo(render(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], rows))


@click.command("cluster-info")
@click.pass_obj
def cluster_info_command(ctx: CtlContext) -> None:
    """Print where the control plane runs and what it runs on.

    \b
    Example:
      shoal cluster-info
    """
    cfg = ctx.client_config()
    answer = with_client(ctx, lambda client: client.version())
    click.echo(f"shoal control plane is running at {cfg.server}")
    click.echo(f"  version {answer.version}, store {answer.store}, platform {answer.platform}")


@click.command("events")
@click.option("-A", "--all-namespaces", is_flag=True, help="Events of every namespace.")
@click.option("--for", "for_object", default="", metavar="KIND/NAME", help="Of one object.")
@click.option("--types", default="", help="Comma-separated event types (Normal,Warning).")
@printer_options()
@click.pass_obj
def events_command(
    ctx: CtlContext, all_namespaces: bool, for_object: str, types: str, output: str, template: str
) -> None:
    """List events, oldest first.

    \b
    Examples:
      shoal events
      shoal events --for pod/web --types=Warning
    """
    from shoal.ctl.printers import Printer

    printer = Printer(output, all_namespaces=all_namespaces, template=template)
    selector = ""
    if for_object:
        target = parse_targets((for_object,))[0]
        selector = f"involvedObject.kind={target.kind.kind},involvedObject.name={target.name}"
    ns = "" if all_namespaces else ctx.client_config().namespace
    found = with_client(ctx, lambda client: _events(client, ns, selector))
    wanted = {t.strip().lower() for t in types.split(",") if t.strip()}
    found = [e for e in found if not wanted or e.get("type", "").lower() in wanted]
    if not found and printer.is_table:
        where = "" if all_namespaces else f" in {ns} namespace"
        click.echo(f"No events found{where}.", err=True)
        return
    printer.echo(printer.text(found))


async def _events(client: Client, namespace: str, selector: str) -> list[dict[str, Any]]:
    from shoal.manifest import to_dict

    listed = await client.list("Event", namespace, field_selector=selector)
    found = [to_dict(e) for e in listed.items]
    return sorted(found, key=event_time)


def event_time(event: dict[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp", "")
    )


def print_component_statuses(ctx: CtlContext, printer: Printer) -> None:
    from shoal.client.componentstatus import component_statuses, healthy

    statuses = with_client(ctx, component_statuses)
    printer.echo(printer.text(statuses))
    if not all(healthy(s) for s in statuses):
        raise click.exceptions.Exit(1)


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the shell completion script.

    \b
    Examples:
      source <(shoal completion bash)
      shoal completion zsh > "${fpath[1]}/_shoal"
    """
    from click.shell_completion import get_completion_class
    from shoal.ctl.main import cli

    cls = get_completion_class(shell)
    assert cls is not None  # click knows every choice above
    click.echo(cls(cli, {}, "shoal", "_SHOAL_COMPLETE").source())
