"""``shoal patch``: a JSON merge patch, given inline (-p) or from a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.printers.flags import FORMATS_HELP, printer_options
from shoal.ctl.resources import namespace_of, one_target, ref, with_client


@click.command("patch")
@click.argument("resource", nargs=-1, required=True)
@click.option("-p", "--patch", "patch_text", default="", help="The patch, JSON or YAML.")
@click.option("--patch-file", default="", help="A file holding the patch.")
@click.option(
    "--type",
    "patch_type",
    type=click.Choice(["merge", "strategic"]),
    default="merge",
    help="merge (strategic is read as merge: lists replace whole).",
)
@click.option("--subresource", type=click.Choice(["status"]), default=None)
@printer_options(FORMATS_HELP + "; default: kind/name patched")
@click.pass_obj
def patch_command(
    ctx: CtlContext,
    resource: tuple[str, ...],
    patch_text: str,
    patch_file: str,
    patch_type: str,
    subresource: str | None,
    output: str,
    template: str,
) -> None:
    """Change fields of an object with a merge patch.

    \b
    Examples:
      shoal patch deployment web -p '{"spec":{"replicas":3}}'
      shoal patch node/node-1 -p '{"spec":{"unschedulable":true}}'
      shoal patch pod web --type=merge -p '{"metadata":{"labels":{"tier":null}}}'
    """
    from shoal.ctl.printers import Printer

    printer = Printer(output, template=template)
    target = one_target(resource)
    body = _read_patch(patch_text, patch_file)
    ns = namespace_of(ctx, target.kind)

    async def patch(client: Any) -> Any:
        before = await client.get(target.kind, target.name, ns)
        after = await client.patch(
            target.kind, target.name, body, ns, status=subresource == "status"
        )
        return before, after

    before, after = with_client(ctx, patch)
    if printer.format:
        from shoal.manifest import to_dict

        printer.print_object(to_dict(after))
        return
    same = before.metadata.resource_version == after.metadata.resource_version
    click.echo(f"{ref(target.kind, target.name)} {'patched (no change)' if same else 'patched'}")


def _read_patch(text: str, path: str) -> dict[str, Any]:
    import yaml

    if bool(text) == bool(path):
        raise click.UsageError("give the patch with exactly one of -p or --patch-file")
    source = Path(path).read_text() if path else text
    try:
        document = json.loads(source)
    except ValueError:
        try:
            document = yaml.safe_load(source)
        except yaml.YAMLError as err:
            raise click.UsageError(f"the patch is neither JSON nor YAML: {err}") from None
    if not isinstance(document, dict):
        raise click.UsageError("a merge patch must be an object")
    return document
