"""``shoal history KIND/NAME``: the retained revisions of one object — who
wrote each, with which verb, when, and which fields changed — and
``--diff REV1 REV2``: a unified diff of two revisions' YAML. ``--deleted
[KIND]``: the objects that no longer exist (``history_deleted``)."""

from __future__ import annotations

import difflib
from typing import Any

import click
import yaml
from shoal.client import Client
from shoal.client.client import unpack
from shoal.ctl.context import CtlContext
from shoal.ctl.history_deleted import show_deleted
from shoal.ctl.resources import namespace_of, parse_targets, with_client
from shoal.manifest import to_dict

# Fields every write changes: not worth listing or diffing.
NOISE = (("metadata", "resourceVersion"), ("metadata", "managedFields"))


# Revisions (or deleted objects) per call when reading a whole list.
PAGE = 500


@click.command("history")
@click.argument("resource", nargs=-1)
@click.option(
    "--diff",
    "diff",
    nargs=2,
    type=int,
    default=None,
    metavar="REV1 REV2",
    help="Show a unified diff of the object's YAML between two revisions.",
)
@click.option(
    "--deleted",
    is_flag=True,
    help="List the objects (of KIND, or of every kind) that no longer exist.",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="With --deleted: in every namespace.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, metavar="N",
    help="Show only the first N (oldest) revisions, or N deleted objects; "
    "without it, every one (read a page at a time).",
)  # fmt: skip
@click.pass_obj
def history_command(
    ctx: CtlContext,
    resource: tuple[str, ...],
    diff: tuple[int, int] | None,
    deleted: bool,
    all_namespaces: bool,
    limit: int | None,
) -> None:
    """List the retained revisions of an object and who made them, or the
    objects that no longer exist (--deleted).

    \b
    Examples:
      shoal history deployment/web
      shoal history secret db -n prod
      shoal history deploy/web --diff 12 15
      shoal history --deleted deployments -A
      shoal history --deleted
    """
    if deleted:
        if diff is not None:
            raise click.UsageError("--diff names one object's revisions, not --deleted")
        show_deleted(ctx, resource, all_namespaces, limit)
        return
    targets = parse_targets(resource)
    if len(targets) != 1 or not targets[0].name:
        raise click.UsageError("name one object, e.g. shoal history deployment/web")
    target = targets[0]

    async def run(client: Client) -> tuple[list[Any], bool]:
        ns = namespace_of(ctx, target.kind)
        if limit is None:
            return await client.history(target.kind, target.name, ns, page=PAGE), False
        page = await client.history_page(target.kind, target.name, ns, limit)
        return list(page.items), bool(page.continue_token)

    entries, more = with_client(ctx, run)
    if more:
        click.echo(f"(the first {limit} revisions; more follow)", err=True)
    revisions = [(int(e.resource_version), e, _plain(to_dict(unpack(e.object)))) for e in entries]
    if diff is not None:
        click.echo(yaml_diff(revisions, *diff), nl=False)
        return
    click.echo(render(revisions))


def _plain(obj: dict[str, Any]) -> dict[str, Any]:
    for outer, inner in NOISE:
        obj.get(outer, {}).pop(inner, None)
    return obj


def changed_fields(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the fields that differ (maps walked, lists whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else str(key)
            out += changed_fields(old.get(key), new.get(key), path)
        return out
    return [] if old == new else [prefix]


def render(revisions: list[tuple[int, Any, dict[str, Any]]]) -> str:
    rows = [("REVISION", "TIME", "VERB", "USER", "CHANGED-FIELDS")]
    previous: dict[str, Any] | None = None
    for rev, entry, obj in revisions:
        if entry.type == "DELETE":
            changed = "(deleted)"
        elif previous is None:
            changed = "(created)" if entry.type == "CREATE" else "(oldest kept)"
        else:
            changed = ",".join(changed_fields(previous, obj)) or "(none)"
        rows.append((str(rev), entry.time or "-", entry.verb or "-", entry.user or "-", changed))
        previous = obj
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "   "
        + row[4]
        for row in rows
    )


def yaml_diff(revisions: list[tuple[int, Any, dict[str, Any]]], first: int, second: int) -> str:
    by_rev = {rev: obj for rev, _, obj in revisions}
    missing = [str(r) for r in (first, second) if r not in by_rev]
    if missing:
        kept = ", ".join(str(rev) for rev, _, _ in revisions)
        raise click.ClickException(
            f"revision {' and '.join(missing)} is not retained (kept: {kept})"
        )
    old, new = (yaml.safe_dump(by_rev[r], sort_keys=True).splitlines(True) for r in (first, second))
    return "".join(difflib.unified_diff(old, new, f"revision {first}", f"revision {second}"))
