"""``shoal label`` and ``shoal annotate``: ``key=value`` sets, ``key-`` removes,
an existing key changes only with ``--overwrite`` (as kubectl)."""

from __future__ import annotations

from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import Target, namespace_of, parse_targets, ref, with_client


def parse_changes(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """``a=b`` pairs to set and ``a-`` keys to remove."""
    sets: dict[str, str] = {}
    removes: list[str] = []
    for arg in args:
        if arg.endswith("-") and "=" not in arg:
            removes.append(arg[:-1])
        elif "=" in arg and arg.partition("=")[0]:
            key, _, value = arg.partition("=")
            sets[key] = value
        else:
            raise click.UsageError(f"invalid label spec: {arg}")
    return sets, removes


def _split(args: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Resource words come first, then the changes (anything with = or ending in -)."""
    first = next((i for i, a in enumerate(args) if "=" in a or a.endswith("-")), len(args))
    if first == len(args):
        raise click.UsageError("at least one label update is required")
    return list(args[:first]), list(args[first:])


def _change(field: str, verb: str) -> Any:
    def command(ctx: CtlContext, args: tuple[str, ...], **opts: Any) -> None:
        words, changes = _split(args)
        sets, removes = parse_changes(changes)
        targets = parse_targets(words) if not opts["all_objects"] or words else []
        failed = with_client(
            ctx, lambda client: _apply(ctx, client, targets, field, verb, sets, removes, opts)
        )
        if failed:
            raise click.exceptions.Exit(1)

    return command


async def _apply(
    ctx: CtlContext,
    client: Any,
    targets: list[Target],
    field: str,
    verb: str,
    sets: dict[str, str],
    removes: list[str],
    opts: dict[str, Any],
) -> int:
    failed = 0
    for target in targets:
        ns = namespace_of(ctx, target.kind)
        if target.name:
            objects = [await client.get(target.kind, target.name, ns)]
        else:
            if not (opts["selector"] or opts["all_objects"]):
                raise click.UsageError("a resource name, -l SELECTOR or --all is required")
            objects = (await client.list(target.kind, ns, label_selector=opts["selector"])).items
        for obj in objects:
            failed += await _one(client, target, obj, field, verb, sets, removes, opts)
    return failed


async def _one(
    client: Any,
    target: Target,
    obj: Any,
    field: str,
    verb: str,
    sets: dict[str, str],
    removes: list[str],
    opts: dict[str, Any],
) -> int:
    current = dict(getattr(obj.metadata, field))
    name = ref(target.kind, obj.metadata.name)
    clash = [k for k, v in sets.items() if k in current and current[k] != v]
    if clash and not opts["overwrite"]:
        click.echo(
            f"error: '{clash[0]}' already has a value ({current[clash[0]]}), "
            "and --overwrite is false",
            err=True,
        )
        return 1
    patch: dict[str, Any] = {**sets, **{k: None for k in removes}}
    await client.patch(
        target.kind, obj.metadata.name, {"metadata": {field: patch}}, obj.metadata.namespace
    )
    changed = any(current.get(k) != v for k, v in sets.items()) or any(
        k in current for k in removes
    )
    click.echo(f"{name} {verb if changed else 'not ' + verb}")
    return 0


def _verb(name: str, field: str, verb: str, doc: str) -> click.Command:
    options: list[Any] = [
        click.argument("args", nargs=-1, required=True),
        click.option("--overwrite", is_flag=True, help="Change keys that already have a value."),
        click.option("-l", "--selector", default="", help="Objects with these labels."),
        click.option("--all", "all_objects", is_flag=True, help="Every object of the kind."),
        click.pass_obj,
    ]
    func: Any = _change(field, verb)
    func.__doc__ = doc
    for option in reversed(options):
        func = option(func)
    return click.command(name)(func)


label_command = _verb(
    "label",
    "labels",
    "labeled",
    """Add, change or remove labels.

    \b
    Examples:
      shoal label pods web tier=frontend
      shoal label pod/web tier=backend --overwrite
      shoal label pods -l app=web tier-
    """,
)
annotate_command = _verb(
    "annotate",
    "annotations",
    "annotated",
    """Add, change or remove annotations.

    \b
    Examples:
      shoal annotate pod web owner=team-a
      shoal annotate deploy/web kubernetes.io/change-cause="image bump" --overwrite
      shoal annotate pod web owner-
    """,
)
