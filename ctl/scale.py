"""``shoal scale``: set the replicas of a deployment, replica set or
replication controller (optionally only if it has an expected count now)."""

from __future__ import annotations

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import namespace_of, parse_targets, ref, with_client

SCALABLE = ("Deployment", "ReplicaSet", "ReplicationController")


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
        if target.kind.kind not in SCALABLE or not target.name:
            raise click.UsageError(
                f"cannot scale {target.kind.plural}: name a deployment, rs or rc"
            )

    async def scale(client: object) -> None:
        for target in targets:
            ns = namespace_of(ctx, target.kind)
            obj = await client.get(target.kind, target.name, ns)  # type: ignore[attr-defined]
            if current_replicas >= 0 and obj.spec.replicas != current_replicas:
                raise click.ClickException(
                    f"expected replicas to be {current_replicas}, was {obj.spec.replicas}"
                )
            obj.spec.replicas = replicas
            await client.update(obj)  # type: ignore[attr-defined]
            click.echo(f"{ref(target.kind, target.name)} scaled")

    with_client(ctx, scale)
