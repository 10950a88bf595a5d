"""``shoal simulate``: the real control plane against hollow nodes on a
virtual clock (docs/simulate.md). This plugin adds the verb and the
``Simulations`` API."""

from __future__ import annotations

from typing import Any

from shoal import hookimpl


@hookimpl
def register_ctl_commands(cli: Any) -> None:
    from shoal.plugins.simulate.command import simulate_command

    cli.add_command(simulate_command)


@hookimpl
def register_api_services(registry: Any) -> None:
    from shoal.plugins.simulate.service import SimulationsServer

    registry.register("simulations", SimulationsServer)
