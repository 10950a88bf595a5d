"""``shoal``: the command line. One module per verb family; each verb imports
what it needs when it runs, so ``shoal get`` does not pay for ``shoal server``.

Errors read like kubectl's, on one line, with no traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from shoal.ctl.context import CtlContext


class ShoalGroup(click.Group):
    """Plugins' verbs (``register_ctl_commands``) load only when a verb is not
    built in, or when every verb is listed (``--help``): importing every
    plugin would double the start-up time of ``shoal get``."""

    plugins_loaded = False

    def _load_plugins(self) -> None:
        if not self.plugins_loaded:
            self.plugins_loaded = True
            from shoal.plugin_manager import add_ctl_commands

            add_ctl_commands(self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load_plugins()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugins()
        return super().list_commands(ctx)


@click.group(cls=ShoalGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--as", "as_user", default="", help="Act as this user (impersonation).")
@click.option("--as-group", multiple=True, help="Act in this group too (repeatable).")
@click.option("--as-uid", default="", help="Act with this uid.")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    context_name: str,
    server: str,
    namespace: str,
    as_user: str,
    as_group: tuple[str, ...],
    as_uid: str,
) -> None:
    """shoal: a small, real container orchestrator shaped like Kubernetes.

    \b
    Start a local cluster:   shoal up
    Run the API server:      shoal server --data-dir ./data
    See what is plugged in:  shoal plugins
    """
    ctx.obj = CtlContext(config_path, context_name, server, namespace)
    if as_user or as_group or as_uid:
        _impersonate(as_user, as_group, as_uid)


def _impersonate(user: str, groups: tuple[str, ...], uid: str) -> None:
    """kubectl's --as: every call carries the impersonation metadata (the
    server checks the impersonate verb, docs/security.md)."""
    from shoal.client import call_metadata

    pairs = [("impersonate-user", user)] if user else []
    pairs += [("impersonate-group", g) for g in groups]
    pairs += [("impersonate-uid", uid)] if uid else []
    call_metadata.set(tuple(pairs))


def _verbs() -> list[click.Command]:
    """The kubectl-like verbs; each module imports its heavy parts lazily."""
    from shoal.ctl.apply import apply_command
    from shoal.ctl.auth import auth_command
    from shoal.ctl.autoscale import autoscale_command
    from shoal.ctl.configcmd import config_command
    from shoal.ctl.create import create_command, expose_command
    from shoal.ctl.delete import delete_command
    from shoal.ctl.describe import describe_command
    from shoal.ctl.edit import edit_command
    from shoal.ctl.get import get_command
    from shoal.ctl.history import history_command
    from shoal.ctl.info import (
        api_resources_command,
        cluster_info_command,
        completion_command,
        events_command,
    )
    from shoal.ctl.label import annotate_command, label_command
    from shoal.ctl.nodes import cordon_command, drain_command, taint_command, uncordon_command
    from shoal.ctl.patch import patch_command
    from shoal.ctl.rollout import rollout_command
    from shoal.ctl.run import run_command
    from shoal.ctl.scale import scale_command
    from shoal.ctl.set import set_command
    from shoal.ctl.top import top_command
    from shoal.ctl.wait import wait_command
    from shoal.ctl.why import why_command

    return [
        get_command,
        create_command,
        apply_command,
        delete_command,
        run_command,
        expose_command,
        api_resources_command,
        cluster_info_command,
        events_command,
        completion_command,
        describe_command,
        edit_command,
        label_command,
        annotate_command,
        scale_command,
        autoscale_command,
        set_command,
        patch_command,
        wait_command,
        rollout_command,
        cordon_command,
        uncordon_command,
        drain_command,
        taint_command,
        config_command,
        auth_command,
        top_command,
        history_command,
        why_command,
    ]


def _register() -> None:
    from shoal.ctl.addons import addons_command
    from shoal.ctl.agentverbs import agent_verbs
    from shoal.ctl.certs import certs_command, create_token_command, revoke_token_command
    from shoal.ctl.cluster import down_command, status_command, up_command
    from shoal.ctl.controllermanager import controller_manager_command
    from shoal.ctl.dashboard import dashboard_command
    from shoal.ctl.plugins import plugins_command
    from shoal.ctl.proxy import proxy_command
    from shoal.ctl.server import server_command
    from shoal.ctl.snapshot import snapshot_command
    from shoal.ctl.tokens import token_command
    from shoal.ctl.version import version_command

    for command in (
        *_verbs(),
        *agent_verbs(),
        server_command,
        snapshot_command,
        controller_manager_command,
        plugins_command,
        version_command,
        up_command,
        down_command,
        status_command,
        addons_command,
        dashboard_command,
        proxy_command,
        certs_command,
        revoke_token_command,
        token_command,
    ):
        cli.add_command(command)
    from shoal.ctl.create import create_command

    create_command.add_command(create_token_command)  # shoal create token SA
    from shoal.ctl.createbatch import create_cronjob, create_job

    create_command.add_command(create_job)
    create_command.add_command(create_cronjob)


def main(argv: list[str] | None = None) -> Any:
    from shoal import log
    from shoal.ctl.errors import run_guarded

    # Until a verb says otherwise (`shoal server` logs JSON), log lines are for a
    # person and go to stderr, so they never mix into `-o json` output.
    log.configure("ctl", json=False, level="warning")
    from shoal.ctl.globalflags import hoist_global_flags, verb_flags

    _register()
    args = list(sys.argv[1:] if argv is None else argv)
    args = hoist_global_flags(args, verb_flags(cli, args))
    return run_guarded(lambda: cli.main(args=args, prog_name="shoal", standalone_mode=False))


if __name__ == "__main__":
    sys.exit(main())
