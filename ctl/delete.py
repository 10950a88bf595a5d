"""``shoal delete``: by name, by file, by label or all of a kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import Target, namespace_of, parse_targets, quoted, with_client

if TYPE_CHECKING:
    from shoal.client import Client

CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan"}


@click.command("delete")
@click.argument("resources", nargs=-1)
@click.option("-f", "--filename", "filenames", multiple=True, help="Objects named in files.")
@click.option("-R", "--recursive", is_flag=True, help="Read folders below too.")
@click.option("-l", "--selector", default="", help="Delete objects with these labels.")
@click.option("--field-selector", default="", help="Delete objects matching these fields.")
@click.option("--all", "all_objects", is_flag=True, help="Every object of the kind.")
@click.option("-A", "--all-namespaces", is_flag=True, help="In every namespace.")
@click.option("--grace-period", type=int, default=-1, help="Seconds to let pods stop; 0: now.")
@click.option("--now", is_flag=True, help="Same as --grace-period=1.")
@click.option("--force", is_flag=True, help="With --grace-period=0: do not wait for the node.")
@click.option(
    "--cascade",
    type=click.Choice(sorted(CASCADE)),
    default="background",
    help="What happens to dependents.",
)
@click.option("--ignore-not-found", is_flag=True, help="A missing object is not an error.")
@click.option("--wait/--no-wait", default=False, help="Wait until the objects are gone.")
@click.option("-o", "--output", default="", help="name: print kind/name only.")
@click.pass_obj
def delete_command(ctx: CtlContext, resources: tuple[str, ...], **opts: Any) -> None:
    """Delete objects by name, file, label selector or --all.

    \b
    Examples:
      shoal delete pod web
      shoal delete -f deployment.yaml
      shoal delete pods -l app=web
      shoal delete deploy/web --cascade=orphan
      shoal delete pods --all --grace-period=0 --force
    """
    targets = _targets(ctx, resources, opts)
    grace = 1 if opts["now"] else opts["grace_period"]
    if opts["force"] and grace < 0:
        grace = 0
    options = {
        "grace_period_seconds": None if grace < 0 else grace,
        "propagation_policy": CASCADE[opts["cascade"]],
    }
    failed = with_client(ctx, lambda client: _delete_all(ctx, client, targets, options, opts))
    if failed:
        raise click.exceptions.Exit(1)


def _targets(ctx: CtlContext, resources: tuple[str, ...], opts: dict[str, Any]) -> list[Any]:
    if opts["filenames"]:
        return _file_targets(opts["filenames"], opts["recursive"])
    targets = parse_targets(resources)
    unnamed = [t for t in targets if not t.name]
    selecting = opts["selector"] or opts["field_selector"] or opts["all_objects"]
    if unnamed and not selecting:
        raise click.UsageError(
            "resource(s) were provided, but no name was specified; use --all to delete every one"
        )
    return [(t, namespace_of(ctx, t.kind, opts["all_namespaces"])) for t in targets]


def _file_targets(filenames: tuple[str, ...], recursive: bool) -> list[Any]:
    from shoal.ctl.resources import read_manifests, resolve_kind

    out = []
    for manifest in read_manifests(filenames, recursive):
        meta = manifest.get("metadata") or {}
        kind = resolve_kind(str(manifest.get("kind", "")))
        ns = meta.get("namespace") or None if kind.namespaced else ""
        out.append((Target(kind, meta.get("name", "")), ns))
    return out


async def _delete_all(
    ctx: CtlContext, client: Client, targets: list[Any], options: dict[str, Any], opts: Any
) -> int:
    from shoal import errors

    failed = 0
    for target, ns in targets:
        names = [(target.name, ns)] if target.name else await _names(client, target, ns, opts)
        for name, namespace in names:
            try:
                await _delete_one(client, target, name, namespace, options, opts)
            except errors.NotFoundError as err:
                if not opts["ignore_not_found"]:
                    click.echo(f"Error from server (NotFound): {err.message}", err=True)
                    failed += 1
    return failed


async def _names(client: Client, target: Target, ns: str, opts: Any) -> list[tuple[str, Any]]:
    listed = await client.list(
        target.kind, ns, label_selector=opts["selector"], field_selector=opts["field_selector"]
    )
    if not listed.items and not opts["ignore_not_found"]:
        click.echo("No resources found", err=True)
    return [(o.metadata.name, o.metadata.namespace) for o in listed.items]


async def _delete_one(
    client: Client, target: Target, name: str, ns: Any, options: dict[str, Any], opts: Any
) -> None:
    await client.delete(target.kind, name, ns, **options)
    if opts["wait"]:
        await wait_gone(client, target, name, ns)
    shown = quoted(target.kind, name)
    if opts["output"] == "name":
        from shoal.ctl.resources import ref

        click.echo(ref(target.kind, name))
    else:
        click.echo(f"{shown} deleted")


async def wait_gone(client: Client, target: Target, name: str, ns: Any) -> None:
    """Until the object is gone: watch it from its current version."""
    from shoal import errors

    try:
        obj = await client.get(target.kind, name, ns)
    except errors.NotFoundError:
        return
    async for event in client.watch(
        target.kind,
        ns or "",
        field_selector=f"metadata.name={name}",
        resource_version=obj.metadata.resource_version,
    ):
        if event.type == "DELETED":
            return
