"""``shoal plugins``: which plugins are loaded, from where, with which hooks."""

from __future__ import annotations

import json
from typing import Any

import click
from shoal.plugin_manager import plugin_info

_COLUMNS = ("NAME", "STATUS", "SOURCE", "HOOKS")


def _row(info: dict[str, Any]) -> tuple[str, ...]:
    hooks = ", ".join(info["hooks"]) or "-"
    if info["error"]:
        hooks = info["error"]
    return info["name"], info["status"], info["source"], hooks


def format_table(infos: list[dict[str, Any]]) -> str:
    """Columns padded like ``kubectl get``: no borders, two spaces apart."""
    rows = [_COLUMNS, *(_row(info) for info in infos)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]))
    return "\n".join(lines)


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """List plugins: loaded, failed and disabled, and where each came from.

    SHOAL_PLUGINS (allow-list) and SHOAL_DISABLE_PLUGINS (block-list), both
    comma-separated plugin names, choose what loads.
    """
    infos = plugin_info()
    if as_json:
        click.echo(json.dumps(infos, indent=2))
    else:
        click.echo(format_table(infos))
