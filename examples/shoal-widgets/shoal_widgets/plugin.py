"""The hook implementations the ``shoal`` entry point names."""

from __future__ import annotations

from typing import Any

import click
from shoal import hookimpl
from shoal.kinds import Kind
from shoal.registry import Registry

from shoal_widgets.controller import WidgetController
from shoal_widgets.kind import WIDGET
from shoal_widgets.verb import grow


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    registry.register(WIDGET.resource, WIDGET)


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("widget", WidgetController)


@hookimpl
def register_ctl_commands(cli: click.Group) -> None:
    cli.add_command(grow)
