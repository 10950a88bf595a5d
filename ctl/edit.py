"""``shoal edit``: open an object in ``$EDITOR`` and update it with what is saved."""

from __future__ import annotations

import os
import subprocess
import tempfile
from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import editor, namespace_of, one_target, ref, with_client


@click.command("edit")
@click.argument("resource", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml")
@click.pass_obj
def edit_command(ctx: CtlContext, resource: tuple[str, ...], output: str) -> None:
    """Edit an object in $EDITOR (or $SHOAL_EDITOR); saving unchanged cancels.

    \b
    Examples:
      shoal edit deployment web
      EDITOR=nano shoal edit svc/web -o json
    """
    from shoal.ctl.printers import Printer
    from shoal.manifest import from_dict, load_documents, to_dict

    target = one_target(resource)
    ns = namespace_of(ctx, target.kind)
    live = with_client(ctx, lambda client: client.get(target.kind, target.name, ns))
    original = Printer(output).text([to_dict(live)], single=True) + "\n"
    edited = _run_editor(original, "." + output)
    if edited.strip() == original.strip():
        click.echo("Edit cancelled, no changes made.")
        return
    documents = load_documents(edited, "edited object")
    if len(documents) != 1:
        raise click.ClickException("the edited file must hold exactly one object")
    changed = from_dict(documents[0])
    if changed.metadata.name != live.metadata.name:
        raise click.ClickException("the name of an object cannot be changed by edit")
    with_client(ctx, lambda client: _update(client, changed))
    click.echo(f"{ref(target.kind, target.name)} edited")


async def _update(client: Any, obj: Any) -> Any:
    kind = obj.DESCRIPTOR.name
    has_status = kind not in ("ConfigMap", "Secret", "Event", "Endpoints", "Lease")
    updated = await client.update(obj)
    if has_status and obj.HasField("status") and obj.status != updated.status:
        obj.metadata.resource_version = updated.metadata.resource_version
        updated = await client.update_status(obj)
    return updated


def _run_editor(text: str, suffix: str) -> str:
    fd, path = tempfile.mkstemp(prefix="shoal-edit-", suffix=suffix)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        result = subprocess.run([*editor(), path], check=False)
        if result.returncode != 0:
            raise click.ClickException(f"the editor exited with status {result.returncode}")
        with open(path) as edited:
            return edited.read()
    finally:
        os.unlink(path)
