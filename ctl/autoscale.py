"""``shoal autoscale``: create a HorizontalPodAutoscaler (autoscaling/v2)
for an object whose kind has a scale subresource, as ``kubectl autoscale``."""

from __future__ import annotations

from typing import Any

import click
from shoal.client import Client
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import namespace_of, parse_targets, ref, with_client
from shoal.manifest import from_dict
from shoal.plugins.kinds.autoscaling import HPA


def autoscaler(
    target_kind: Any, name: str, hpa_name: str, low: int, high: int, cpu_percent: int
) -> dict[str, Any]:
    """The HorizontalPodAutoscaler manifest; unset (-1) flags are left to the server's defaults."""
    spec: dict[str, Any] = {
        "scaleTargetRef": {
            "apiVersion": target_kind.api_version,
            "kind": target_kind.kind,
            "name": name,
        },
        "maxReplicas": high,
    }
    if low >= 0:
        spec["minReplicas"] = low
    if cpu_percent >= 0:
        target = {"type": "Utilization", "averageUtilization": cpu_percent}
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]
    return {
        "apiVersion": HPA.api_version,
        "kind": HPA.kind,
        "metadata": {"name": hpa_name},
        "spec": spec,
    }


@click.command("autoscale")
@click.argument("resources", nargs=-1, required=True)
@click.option("--min", "low", type=int, default=-1, help="The fewest pods (default 1).")
@click.option("--max", "high", type=int, default=-1, help="The most pods; required.")
@click.option(
    "--cpu-percent", type=int, default=-1, help="Target average CPU utilization (default 80)."
)
@click.option(
    "--name", "hpa_name", default="", help="The autoscaler's name (default: the object's)."
)
@click.pass_obj
def autoscale_command(
    ctx: CtlContext,
    resources: tuple[str, ...],
    low: int,
    high: int,
    cpu_percent: int,
    hpa_name: str,
) -> None:
    """Create an autoscaler that scales an object between --min and --max pods
    to keep their CPU use near --cpu-percent of their requests.

    \b
    Examples:
      shoal autoscale deployment/web --min=1 --max=5 --cpu-percent=50
      shoal autoscale rs frontend --max=10
    """
    if high < 1:
        raise click.UsageError("--max=MAXPODS is required and must be at least 1")
    if low > high:
        raise click.UsageError("--max=MAXPODS must be larger or equal to --min=MINPODS")
    targets = parse_targets(resources)
    for target in targets:
        if target.kind.strategy.scale is None:
            raise click.UsageError(f"cannot autoscale {target.kind.plural}: no scale subresource")
        if not target.name:
            raise click.UsageError(f"cannot autoscale {target.kind.plural}: name the object")

    async def create(client: Client) -> None:
        for target in targets:
            ns = namespace_of(ctx, target.kind)
            await client.get(target.kind, target.name, ns)  # as kubectl: the target must exist
            name = hpa_name or target.name
            body = autoscaler(target.kind, target.name, name, low, high, cpu_percent)
            body["metadata"]["namespace"] = ns
            await client.create(from_dict(body))
            click.echo(f"{ref(HPA, name)} autoscaled")

    with_client(ctx, create)
