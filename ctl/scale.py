"""``shoal scale``: set the replicas of an object whose kind has a scale
subresource (a deployment, replica set, replication controller, or a
plugin's kind), optionally only if it has an expected count now."""

from __future__ import annotations

import click
from shoal.client import Client
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import Target, namespace_of, parse_targets, ref, with_client
from shoal.errors import ConflictError
from shoal.manifest import to_dict
from shoal.strategy import ScaleSubresource

CONFLICT_RETRIES = 5


@click.command("scale")
@click.argument("resources", nargs=-1, required=True)
@click.option("--replicas", type=int, required=True, help="The new number of replicas.")
@click.option("--current-replicas", type=int, default=-1, help="Only if it has this many now.")
@click.pass_obj
def scale_command(
    ctx: CtlContext, resources: tuple[str, ...], replicas: int, current_replicas: int
) -> None:
    """Set the number of replicas.

    \b
    Examples:
      shoal scale deployment web --replicas=5
      shoal scale rs/frontend --replicas=0
      shoal scale --current-replicas=2 --replicas=3 deployment/web
    """
    if replicas < 0:
        raise click.UsageError("the --replicas flag must be 0 or more")
    targets = parse_targets(resources)
    for target in targets:
        if target.kind.strategy.scale is None:
            raise click.UsageError(f"cannot scale {target.kind.plural}: no scale subresource")
        if not target.name:
            raise click.UsageError(f"cannot scale {target.kind.plural}: name the object")

    async def scale(client: Client) -> None:
        for target in targets:
            ns = namespace_of(ctx, target.kind)
            if current_replicas < 0:
                # As kubectl: a patch of the replicas alone, so a controller
                # writing the object's status meanwhile causes no conflict.
                patch = _scale(target).replicas_patch(replicas)
                await client.patch(target.kind, target.name, patch, ns)
            else:
                await _scale_if_current(client, target, ns, replicas, current_replicas)
            click.echo(f"{ref(target.kind, target.name)} scaled")

    with_client(ctx, scale)


async def _scale_if_current(
    client: Client, target: Target, ns: str, replicas: int, current: int
) -> None:
    """Read, check the precondition, write with that resourceVersion; a
    conflict (someone wrote in between) reads and checks again, as kubectl's
    scaler retries."""
    scale = _scale(target)
    for _ in range(CONFLICT_RETRIES):
        obj = to_dict(await client.get(target.kind, target.name, ns))
        now = scale.replicas(obj)
        if now != current:
            raise click.ClickException(f"expected replicas to be {current}, was {now}")
        patch = scale.replicas_patch(replicas)
        patch["metadata"] = {"resourceVersion": obj["metadata"]["resourceVersion"]}
        try:
            await client.patch(target.kind, target.name, patch, ns)
            return
        except ConflictError:
            continue
    raise click.ClickException(f"{ref(target.kind, target.name)} kept changing; scale it again")


def _scale(target: Target) -> ScaleSubresource:
    scale = target.kind.strategy.scale
    assert scale is not None  # checked before any call
    return scale
