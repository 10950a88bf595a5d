"""``shoal dashboard [--url]``: open the local cluster's web dashboard (the
``dashboard`` add-on that ``shoal up`` starts) in the browser, or print its
address, as ``minikube dashboard`` does."""

from __future__ import annotations

import webbrowser
from typing import Any

import click
from shoal.ctl import localcluster as lc
from shoal.ctl import localcontext
from shoal.ctl.cluster import CONTEXT_HOME_HELP, dashboard_url


def dashboard_address(paths: lc.Paths) -> str:
    """The running dashboard's URL; a ClickException saying why there is none."""
    if not lc.running_pid(paths, "server"):
        raise click.ClickException("shoal is not running here: start it with `shoal up`")
    url = dashboard_url(paths)
    if not url:
        raise click.ClickException(
            "the dashboard add-on is not running: `shoal addons enable dashboard`, "
            "then `shoal down && shoal up`"
        )
    return url


@click.command("dashboard")
@click.option("--url", "print_url", is_flag=True, help="Print the address, open no browser.")
@click.option("--data-dir", "home", default=None, help=CONTEXT_HOME_HELP)
@click.pass_obj
def dashboard_command(ctx: Any, print_url: bool, home: str | None) -> None:
    """Open the web dashboard of the local cluster (`shoal up`) in the browser.

    \b
    It asks for a bearer token: a service account's, acting with its rights:
      kubectl create serviceaccount viewer
      kubectl create rolebinding viewer --clusterrole=view \
          --serviceaccount=default:viewer
      shoal create token viewer --duration 24h
    """
    url = dashboard_address(lc.Paths.under(localcontext.cluster_home(ctx, home)))
    if print_url or not webbrowser.open(url):
        click.echo(url)
        return
    click.echo(f"✓ opened {url} in the browser")
