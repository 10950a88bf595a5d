"""``shoal grow``: add parts to a widget (a merge patch of its size, made
only if nobody changed the widget since it was read)."""

from __future__ import annotations

from typing import Any

import click
from shoal.client import Client
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import with_client

RESOURCE = "widgets.example.shoal.dev"


@click.command("grow")
@click.argument("name")
@click.option(
    "--by", type=click.IntRange(min=1), default=1, show_default=True, help="Parts to add."
)
@click.pass_obj
def grow(ctx: CtlContext, name: str, by: int) -> None:
    """Grow a widget by some parts.

    \b
    Examples:
      shoal grow my-widget
      shoal grow my-widget --by 3 -n team-a
    """

    async def work(client: Client) -> int:
        widget = await client.get(RESOURCE, name)  # the context's namespace
        size = int(widget.spec.size) + by
        patch: dict[str, Any] = {
            "metadata": {"resourceVersion": widget.metadata.resource_version},
            "spec": {"size": size},
        }
        await client.patch(RESOURCE, name, patch, widget.metadata.namespace)
        return size

    size = with_client(ctx, work)
    click.echo(f"widget.example.shoal.dev/{name} grown to {size} parts")
