"""The agent's verbs, registered by ``ctl.main``: agent, logs, exec, attach,
cp, port-forward, image."""

from __future__ import annotations

import click


def agent_verbs() -> list[click.Command]:
    from shoal.ctl.agent import agent_command
    from shoal.ctl.attach import attach_command
    from shoal.ctl.cp import cp_command
    from shoal.ctl.images import image_command
    from shoal.ctl.portforward import port_forward_command
    from shoal.ctl.streams import exec_command, logs_command

    return [
        agent_command,
        logs_command,
        exec_command,
        attach_command,
        cp_command,
        port_forward_command,
        image_command,
    ]
