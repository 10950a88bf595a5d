"""``shoal``: the command line. One module per verb family; each verb imports
what it needs when it runs, so ``shoal get`` does not pay for ``shoal server``.

Errors read like kubectl's, on one line, with no traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from shoal.ctl.context import CtlContext


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    envvar="SHOAL_CONFIG",
    metavar="FILE",
    help="Client config file (default ~/.shoal/config).",
)
@click.option("--context", "context_name", default="", help="Config context to use.")
@click.option("--server", default="", metavar="HOST:PORT", help="API server address.")
@click.option("-n", "--namespace", default="", help="Namespace for this request.")
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, context_name: str, server: str, namespace: str
) -> None:
    """shoal: a small, real container orchestrator shaped like Kubernetes.

    \b
    Start a local cluster:   shoal up
    Run the API server:      shoal server --data-dir ./data
    See what is plugged in:  shoal plugins
    """
    ctx.obj = CtlContext(config_path, context_name, server, namespace)


def _register() -> None:
    from shoal.ctl.cluster import down_command, status_command, up_command
    from shoal.ctl.plugins import plugins_command
    from shoal.ctl.server import server_command
    from shoal.ctl.version import version_command

    for command in (
        server_command,
        plugins_command,
        version_command,
        up_command,
        down_command,
        status_command,
    ):
        cli.add_command(command)
    from shoal.plugin_manager import add_ctl_commands

    add_ctl_commands(cli)


def main(argv: list[str] | None = None) -> Any:
    from shoal.ctl.errors import run_guarded

    _register()
    return run_guarded(lambda: cli.main(args=argv, prog_name="shoal", standalone_mode=False))


if __name__ == "__main__":
    sys.exit(main())
