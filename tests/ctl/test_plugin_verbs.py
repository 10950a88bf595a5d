"""A plugin's verb (register_ctl_commands) is found when typed, though
plugins load only when a verb is not built in."""

from __future__ import annotations

from typing import Any

import click
import pytest
from shoal import hookimpl
from shoal.ctl import main as ctl_main
from shoal.plugin_manager import get_plugin_manager


class HelloPlugin:
    @hookimpl
    def register_ctl_commands(self, cli: click.Group) -> None:
        @cli.command("hello")
        def hello() -> None:
            """Say hello."""
            click.echo("hello from a plugin")


@pytest.fixture
def hello_plugin() -> Any:
    pm = get_plugin_manager()
    plugin = HelloPlugin()
    pm.register(plugin, name="hello-test-plugin")
    ctl_main.cli.plugins_loaded = False  # type: ignore[attr-defined]
    yield
    pm.unregister(plugin)
    ctl_main.cli.commands.pop("hello", None)
    ctl_main.cli.plugins_loaded = False  # type: ignore[attr-defined]


def test_built_in_verbs_do_not_load_plugins(hello_plugin: None, capsys: Any) -> None:
    assert ctl_main.main(["version", "--client"]) == 0
    assert not ctl_main.cli.plugins_loaded  # type: ignore[attr-defined]


def test_a_plugin_verb_runs(hello_plugin: None, capsys: Any) -> None:
    assert ctl_main.main(["hello"]) == 0
    assert capsys.readouterr().out == "hello from a plugin\n"
