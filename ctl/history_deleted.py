"""``shoal history --deleted [KIND] [-n NS | -A]``: the objects that no
longer exist and whose delete the store still keeps — kind, namespace,
name, when and by whom they were deleted. Without KIND, every kind the user
may list (the others are skipped, as ``kubectl get all`` does)."""

from __future__ import annotations

from typing import Any

import click
from shoal import errors
from shoal.client import Client
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import namespace_of, resolve_kind, with_client
from shoal.kinds import Kind

PAGE = 500


def show_deleted(
    ctx: CtlContext, resource: tuple[str, ...], all_namespaces: bool, limit: int | None
) -> None:
    if len(resource) > 1 or (resource and "/" in resource[0]):
        raise click.UsageError("--deleted takes a kind, e.g. shoal history --deleted deployments")

    async def run(client: Client) -> tuple[list[Any], bool]:
        if resource:
            chosen = [resolve_kind(resource[0])]
        else:
            chosen = [
                resolve_kind(info.plural + _dot(info.api_version)) for info in await client.kinds()
            ]
        found: list[Any] = []
        for kind in chosen:
            wanted = None if limit is None else limit - len(found)
            if wanted == 0:
                return found, True
            try:
                items, more = await _deleted(
                    client, kind, namespace_of(ctx, kind, all_namespaces), wanted
                )
            except errors.ForbiddenError:
                if resource:
                    raise
                continue  # every kind: only those this user may list
            found += items
            if more:
                return found, True
        return found, False

    items, more = with_client(ctx, run)
    if not items:
        click.echo("No deleted objects found.", err=True)
        return
    click.echo(render(items))
    if more:
        click.echo(f"(the first {limit}; more follow)", err=True)


def _dot(api_version: str) -> str:
    group = api_version.rpartition("/")[0]
    return f".{group}" if group else ""


async def _deleted(
    client: Client, kind: Kind, ns: str, limit: int | None
) -> tuple[list[Any], bool]:
    items: list[Any] = []
    token = ""
    while True:
        page = await client.deleted(kind, ns, limit or PAGE, token)
        items += page.items
        token = page.continue_token
        if not token or limit is not None:
            return items, bool(token)


def render(items: list[Any]) -> str:
    rows = [("KIND", "NAMESPACE", "NAME", "DELETED", "REVISION", "USER")]
    for item in items:
        rows.append(
            (
                item.kind,
                item.namespace or "-",
                item.name,
                item.time or "-",
                item.resource_version,
                item.user or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
