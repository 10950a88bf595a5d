"""``shoal set image``: change container images of a pod or a template."""

from __future__ import annotations

from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import namespace_of, parse_targets, ref, with_client


@click.group("set")
def set_command() -> None:
    """Change one aspect of objects (image)."""


@set_command.command("image")
@click.argument("args", nargs=-1, required=True)
@click.pass_obj
def set_image(ctx: CtlContext, args: tuple[str, ...]) -> None:
    """Update container images: CONTAINER=IMAGE, or *=IMAGE for all containers.

    \b
    Examples:
      shoal set image deployment/web nginx=nginx:1.26
      shoal set image rc web *=busybox:1.36
    """
    words = [a for a in args if "=" not in a]
    images = dict(a.split("=", 1) for a in args if "=" in a)
    if not images:
        raise click.UsageError("at least one image update is required: CONTAINER=IMAGE")
    targets = parse_targets(words)

    async def update(client: Any) -> None:
        for target in targets:
            obj = await client.get(target.kind, target.name, namespace_of(ctx, target.kind))
            spec = obj.spec if target.kind.kind == "Pod" else obj.spec.template.spec
            missing = _set_images(spec, images)
            if missing:
                raise click.ClickException(
                    f'unable to find container named "{missing[0]}" in '
                    + ref(target.kind, target.name)
                )
            await client.update(obj)
            click.echo(f"{ref(target.kind, target.name)} image updated")

    with_client(ctx, update)


def _set_images(spec: Any, images: dict[str, str]) -> list[str]:
    """Set images in place; returns container names that were not found."""
    containers = list(spec.init_containers) + list(spec.containers)
    for container in containers:
        image = images.get(container.name, images.get("*"))
        if image:
            container.image = image
    names = {c.name for c in containers}
    return [n for n in images if n != "*" and n not in names]
