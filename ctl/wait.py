"""``shoal wait --for=condition=Ready|delete|jsonpath=...``: watch objects until
they reach a state, or fail after ``--timeout``."""

from __future__ import annotations

import asyncio
from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.duration import Duration
from shoal.ctl.resources import Target, namespace_of, parse_targets, ref, with_client


def condition_met(obj: dict[str, Any], spec: str) -> bool:
    """``condition=Ready``, ``condition=Available=false``,
    ``jsonpath={.status.phase}=Running``."""
    kind, _, rest = spec.partition("=")
    if kind == "condition":
        name, _, want = rest.partition("=")
        want = (want or "true").lower()
        conditions = (obj.get("status") or {}).get("conditions") or []
        return any(
            c.get("type", "").lower() == name.lower() and c.get("status", "").lower() == want
            for c in conditions
        )
    from shoal.jsonpath import evaluate, parse_path, render_value

    path, _, want = rest.partition("}") if rest.startswith("{") else rest.partition("=")
    want = want.removeprefix("=")
    values = evaluate(parse_path(path.strip().strip("{}")), obj)
    return bool(values) and (not want or render_value(values[0]) == want)


@click.command("wait")
@click.argument("resources", nargs=-1, required=True)
@click.option("--for", "for_", required=True, help="delete, condition=NAME[=value], jsonpath=...")
@click.option(
    "--timeout", type=Duration(), default="30s", show_default=True, help="How long to wait."
)
@click.option("-l", "--selector", default="", help="Objects with these labels.")
@click.option("--all", "all_objects", is_flag=True, help="Every object of the kind.")
@click.pass_obj
def wait_command(
    ctx: CtlContext,
    resources: tuple[str, ...],
    for_: str,
    timeout: float,
    selector: str,
    all_objects: bool,
) -> None:
    """Wait until objects meet a condition or are deleted.

    \b
    Examples:
      shoal wait --for=condition=Ready pod/web
      shoal wait --for=condition=Available deployment/web --timeout=2m
      shoal wait --for=delete pod/web --timeout=60s
      shoal wait --for=jsonpath='{.status.phase}'=Running pods -l app=web
    """
    if not (for_ == "delete" or for_.startswith(("condition=", "jsonpath="))):
        raise click.UsageError(f"unrecognized condition: {for_!r}")
    targets = parse_targets(resources)

    async def wait(client: Any) -> None:
        names = await _expand(ctx, client, targets, selector, all_objects)
        await asyncio.wait_for(_wait_all(client, names, for_), timeout)

    try:
        with_client(ctx, wait)
    except TimeoutError:
        raise click.ClickException(f"timed out waiting for the condition ({for_})") from None


async def _expand(
    ctx: CtlContext, client: Any, targets: list[Target], selector: str, all_objects: bool
) -> list[tuple[Target, str]]:
    out: list[tuple[Target, str]] = []
    for target in targets:
        ns = namespace_of(ctx, target.kind)
        if target.name:
            out.append((target, ns))
            continue
        if not (selector or all_objects):
            raise click.UsageError("a resource name, -l SELECTOR or --all is required")
        for obj in (await client.list(target.kind, ns, label_selector=selector)).items:
            out.append((Target(target.kind, obj.metadata.name), obj.metadata.namespace))
    if not out:
        raise click.ClickException("no matching resources found")
    return out


async def _wait_all(client: Any, names: list[tuple[Target, str]], for_: str) -> None:
    for target, ns in names:
        if for_ == "delete":
            from shoal.ctl.delete import wait_gone

            await wait_gone(client, target, target.name, ns)
            click.echo(f"{ref(target.kind, target.name)} condition met")
        else:
            await _wait_condition(client, target, ns, for_)


async def _wait_condition(client: Any, target: Target, ns: str, for_: str) -> None:
    from shoal.manifest import to_dict

    obj = await client.get(target.kind, target.name, ns)
    version = obj.metadata.resource_version
    while not condition_met(to_dict(obj), for_):
        async for event in client.watch(
            target.kind,
            ns,
            field_selector=f"metadata.name={target.name}",
            resource_version=version,
        ):
            if event.type == "DELETED":
                raise click.ClickException(f"{ref(target.kind, target.name)} was deleted")
            if event.object is not None:
                obj, version = event.object, event.resource_version
                break
    click.echo(f"{ref(target.kind, target.name)} condition met")
