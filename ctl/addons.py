"""`shoal addons list|enable|disable NAME`, as minikube's: the add-ons a
local cluster (`shoal up`) starts with, kept in DATA/addons.json. A change
takes effect when the cluster next starts (`shoal down && shoal up`), since
an add-on is a flag of the server and agent processes that `up` runs."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import click
from shoal.ctl import localcluster as lc
from shoal.ctl import localcontext
from shoal.ctl.cluster import CONTEXT_HOME_HELP

# name -> (on by default, what it is)
ADDONS: dict[str, tuple[bool, str]] = {
    "dns": (True, "cluster DNS: Service names for pods, kube-system/kube-dns (docs/services.md)"),
    "metrics-server": (
        True,
        "resource metrics: kubectl top, shoal top (metrics.k8s.io; docs/resource-metrics.md)",
    ),
    "dashboard": (True, "the web dashboard: `shoal dashboard` opens it (docs/dashboard.md)"),
}


def enabled(paths: lc.Paths) -> dict[str, bool]:
    """Each add-on's state for this cluster: the stored choice, else its default."""
    stored: dict[str, Any] = {}
    with contextlib.suppress(FileNotFoundError, ValueError):  # none chosen yet
        stored = dict(json.loads((paths.root / "addons.json").read_text()))
    return {name: bool(stored.get(name, default)) for name, (default, _) in ADDONS.items()}


def _set(paths: lc.Paths, name: str, on: bool) -> None:
    if name not in ADDONS:
        raise click.ClickException(
            f'addon "{name}" does not exist; available: {", ".join(sorted(ADDONS))}'
        )
    state = enabled(paths)
    state[name] = on
    paths.root.mkdir(parents=True, exist_ok=True)
    (paths.root / "addons.json").write_text(json.dumps(state, indent=2) + "\n")
    word = "enabled" if on else "disabled"
    running = lc.running_pid(paths, "server") or lc.running_pid(paths, "agent")
    later = "; restart the cluster for it to take effect: shoal down && shoal up" if running else ""
    click.echo(f"✓ addon {name} {word}{later}")


@click.group("addons")
def addons_command() -> None:
    """List, enable or disable the add-ons of the local cluster (`shoal up`)."""


@addons_command.command("list")
@click.option("--data-dir", "home", default=None, help=CONTEXT_HOME_HELP)
@click.pass_obj
def list_command(ctx: Any, home: str | None) -> None:
    """The add-ons and whether each is enabled."""
    state = enabled(lc.Paths.under(localcontext.cluster_home(ctx, home)))
    width = max(len(name) for name in ADDONS) + 3
    click.echo(f"{'NAME':<{width}}{'STATUS':<10}DESCRIPTION")
    for name, (_, what) in sorted(ADDONS.items()):
        click.echo(f"{name:<{width}}{'enabled' if state[name] else 'disabled':<10}{what}")


@addons_command.command("enable")
@click.argument("name")
@click.option("--data-dir", "home", default=None, help=CONTEXT_HOME_HELP)
@click.pass_obj
def enable_command(ctx: Any, name: str, home: str | None) -> None:
    """Enable an add-on (from the next `shoal up`)."""
    _set(lc.Paths.under(localcontext.cluster_home(ctx, home)), name, True)


@addons_command.command("disable")
@click.argument("name")
@click.option("--data-dir", "home", default=None, help=CONTEXT_HOME_HELP)
@click.pass_obj
def disable_command(ctx: Any, name: str, home: str | None) -> None:
    """Disable an add-on (from the next `shoal up`)."""
    _set(lc.Paths.under(localcontext.cluster_home(ctx, home)), name, False)
