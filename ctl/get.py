"""``shoal get``: list or fetch objects and print them like kubectl."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.duration import Duration
from shoal.ctl.resources import Target, namespace_of, parse_targets, with_client

if TYPE_CHECKING:
    from shoal.client import Client
    from shoal.ctl.printers import Printer

COMPONENT_STATUSES = ("cs", "componentstatuses", "componentstatus")

EXAMPLES = """
\b
Examples:
  shoal get pods                          # pods in the current namespace
  shoal get pods -A -o wide               # every namespace, with node and IP
  shoal get deploy,rs,svc -l app=web      # several kinds, by label
  shoal get pod/web -o yaml               # one object as YAML
  shoal get pods -o jsonpath='{.items[*].metadata.name}'
  shoal get pods -o go-template --template '{{range .items}}{{.metadata.name}}{{"\\n"}}{{end}}'
  shoal get pods --sort-by=.metadata.creationTimestamp
  shoal get pods -w                       # and then every change
  shoal get cs                            # health of the control plane
"""


def output_options(func: Any) -> Any:
    """-o, --template, --show-labels, --no-headers: shared by verbs that list objects."""
    from shoal.ctl.printers.flags import FORMATS_HELP, printer_options

    func = click.option("--no-headers", is_flag=True, help="Tables without the header row.")(func)
    func = click.option("--show-labels", is_flag=True, help="Add a LABELS column.")(func)
    return printer_options("wide|" + FORMATS_HELP)(func)


@click.command("get", epilog=EXAMPLES)
@click.argument("resources", nargs=-1)
@output_options
@click.option("-l", "--selector", default="", help="Label selector (a=b, a in (x,y), !a).")
@click.option("--field-selector", default="", help="Field selector (spec.nodeName=n1).")
@click.option("-A", "--all-namespaces", is_flag=True, help="Across every namespace.")
@click.option("-w", "--watch", is_flag=True, help="After listing, print every change.")
@click.option("--watch-only", is_flag=True, help="Print changes only, not the list.")
@click.option("--sort-by", default="", metavar="JSONPATH", help="Sort by a field.")
@click.option("--ignore-not-found", is_flag=True, help="A missing name is not an error.")
@click.option(
    "--show-managed-fields", is_flag=True, help="Keep metadata.managedFields in JSON or YAML."
)
@click.option(
    "--request-timeout",
    type=Duration(),
    default="0",
    help="Stop watching after this long (e.g. 30s, 1m; 0: never).",
)
@click.option(
    "--raw",
    default="",
    metavar="PATH",
    help="Print what the REST gateway answers for PATH (e.g. /metrics), as kubectl.",
)
@click.pass_obj
def get_command(ctx: CtlContext, resources: tuple[str, ...], **opts: Any) -> None:
    """Display one or many objects."""
    from shoal.ctl.printers import Printer

    if opts["raw"]:
        from shoal.ctl.raw import get_raw

        if resources:
            raise click.UsageError("arguments may not be passed when --raw is specified")
        get_raw(ctx, opts["raw"])
        return

    printer = Printer(
        opts["output"],
        opts["show_labels"],
        opts["all_namespaces"],
        opts["no_headers"],
        template=opts["template"],
        show_managed_fields=opts["show_managed_fields"],
    )
    if resources and resources[0].lower() in COMPONENT_STATUSES:
        from shoal.ctl.info import print_component_statuses

        print_component_statuses(ctx, printer)
        return
    targets = parse_targets(resources)
    watching = opts["watch"] or opts["watch_only"]
    if watching and len({t.kind.kind for t in targets}) > 1:
        raise click.UsageError("you may only specify a single resource type when watching")
    with_client(ctx, lambda client: _get(ctx, client, targets, printer, opts))


async def _get(
    ctx: CtlContext, client: Client, targets: list[Target], printer: Printer, opts: dict[str, Any]
) -> None:
    from shoal import errors

    found: list[dict[str, Any]] = []
    missing: list[str] = []
    version = ""
    for target in targets:
        ns = namespace_of(ctx, target.kind, opts["all_namespaces"])
        try:
            items, version = await _fetch(client, target, ns, opts)
        except errors.NotFoundError as err:
            if not opts["ignore_not_found"]:
                missing.append(f"Error from server (NotFound): {err.message}")
            continue
        found.extend(items)
    if not opts["watch_only"]:
        _print(printer, _sorted(found, opts["sort_by"]), targets, ctx, opts)
    for line in missing:
        click.echo(line, err=True)
    if opts["watch"] or opts["watch_only"]:
        await _watch(ctx, client, targets[0], printer, version, opts)
    if missing:
        raise click.exceptions.Exit(1)


async def _fetch(
    client: Client, target: Target, ns: str, opts: dict[str, Any]
) -> tuple[list[dict[str, Any]], str]:
    from shoal.manifest import to_dict

    if target.name:
        obj = await client.get(target.kind, target.name, ns)
        return [to_dict(obj)], obj.metadata.resource_version
    listed = await client.list(
        target.kind, ns, label_selector=opts["selector"], field_selector=opts["field_selector"]
    )
    return [to_dict(o) for o in listed.items], listed.resource_version


def _sorted(objects: list[dict[str, Any]], sort_by: str) -> list[dict[str, Any]]:
    if not sort_by:
        return objects
    from shoal.jsonpath import evaluate, parse_path

    path = parse_path(sort_by.strip().strip("{}"))

    def key(obj: dict[str, Any]) -> tuple[int, Any]:
        values = evaluate(path, obj)
        value = values[0] if values else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (1, value)
        return (0, "") if value is None else (2, str(value))

    return sorted(objects, key=key)


def _print(
    printer: Printer,
    objects: list[dict[str, Any]],
    targets: list[Target],
    ctx: CtlContext,
    opts: dict[str, Any],
) -> None:
    single = len(targets) == 1 and bool(targets[0].name)
    if not objects and printer.is_table:
        if not any(t.name for t in targets):
            click.echo(_nothing(ctx, targets, opts["all_namespaces"]), err=True)
        return
    printer.echo(printer.text(objects, single=single))


def _nothing(ctx: CtlContext, targets: list[Target], all_namespaces: bool) -> str:
    if all_namespaces or not any(t.kind.namespaced for t in targets):
        return "No resources found"
    return f"No resources found in {ctx.client_config().namespace} namespace."


async def _watch(
    ctx: CtlContext,
    client: Client,
    target: Target,
    printer: Printer,
    version: str,
    opts: dict[str, Any],
) -> None:
    import asyncio

    timeout = opts["request_timeout"] or None
    try:
        await asyncio.wait_for(_follow(ctx, client, target, printer, version, opts), timeout)
    except TimeoutError:
        return


async def _follow(
    ctx: CtlContext,
    client: Client,
    target: Target,
    printer: Printer,
    version: str,
    opts: dict[str, Any],
) -> None:
    from shoal.manifest import to_dict

    selector = opts["field_selector"]
    if target.name:
        selector = ",".join(s for s in (selector, f"metadata.name={target.name}") if s)
    ns = namespace_of(ctx, target.kind, opts["all_namespaces"])
    headers = opts["watch_only"]
    events = client.watch(
        target.kind,
        ns,
        label_selector=opts["selector"],
        field_selector=selector,
        resource_version=version,
    )
    async for event in events:
        if event.object is None:
            continue
        obj = to_dict(event.object)
        if printer.is_table:
            click.echo(printer.table([obj], headers=headers))
        else:
            printer.echo(_one(printer, obj))
        headers = False


def _one(printer: Printer, obj: dict[str, Any]) -> str:
    text = printer.text([obj], single=True)
    return "---\n" + text if printer.format == "yaml" else text
