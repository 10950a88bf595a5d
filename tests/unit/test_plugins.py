"""The plugin manager: loading, allow/block lists, registries, failures."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from typing import Any

import click
import pytest
from click.testing import CliRunner
from shoal import hookimpl
from shoal import plugin_manager as pmod
from shoal.ctl.plugins import plugins_command
from shoal.registry import DuplicateNameError, Registry, UnknownNameError


@pytest.fixture
def no_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep whatever third-party plugins this machine has out of the tests."""
    monkeypatch.setattr(pmod, "iter_entry_points", lambda: iter(()))


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, no_entry_points: None) -> Iterator[None]:
    monkeypatch.delenv("SHOAL_PLUGINS", raising=False)
    monkeypatch.delenv("SHOAL_DISABLE_PLUGINS", raising=False)
    pmod.reset_plugin_manager()
    yield
    pmod.reset_plugin_manager()


def by_name(pm: pmod.ShoalPluginManager) -> dict[str, dict[str, Any]]:
    return {info["name"]: info for info in pmod.plugin_info(pm)}


def fake_plugin_module(monkeypatch: pytest.MonkeyPatch, name: str, **hooks: Any) -> str:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    monkeypatch.setitem(sys.modules, name, module)
    return name


# --- Registry ---------------------------------------------------------------


def test_registry_basics() -> None:
    registry: Registry[int] = Registry("runtime")
    assert registry.register("docker", 1) == 1
    registry.register("fake", 2)
    assert registry.get("fake") == 2
    assert registry.names() == ["docker", "fake"]
    assert registry.items() == [("docker", 1), ("fake", 2)]
    assert "docker" in registry and "podman" not in registry
    assert len(registry) == 2


def test_registry_unknown_name_lists_what_is_available() -> None:
    registry: Registry[int] = Registry("runtime")
    registry.register("fake", 2)
    registry.register("docker", 1)
    with pytest.raises(KeyError) as info:
        registry.get("dokcer")
    assert isinstance(info.value, UnknownNameError)
    assert str(info.value) == "unknown runtime 'dokcer'; available: docker, fake"


def test_registry_duplicate_names_both_plugins() -> None:
    registry: Registry[int] = Registry("store")
    with registry.plugin("sqlite"):
        registry.register("sqlite", 1)
    with registry.plugin("shoal-other"), pytest.raises(DuplicateNameError) as info:
        registry.register("sqlite", 2)
    assert "store 'sqlite' is registered twice" in str(info.value)
    assert "'sqlite'" in str(info.value) and "'shoal-other'" in str(info.value)
    assert registry.get("sqlite") == 1


# --- loading ----------------------------------------------------------------


def test_builtins_load(fresh: None) -> None:
    pm = pmod.get_plugin_manager()
    assert pmod.get_plugin_manager() is pm
    infos = by_name(pm)
    for module in pmod.DEFAULT_PLUGINS:
        info = infos[pmod.builtin_name(module)]
        assert (info["status"], info["source"], info["module"]) == ("loaded", "builtin", module)
        assert info["hooks"]
    assert "sqlite" in pmod.stores()
    assert pmod.stores().owner("sqlite") == "sqlite"


def test_builtin_names_are_unique() -> None:
    names = [pmod.builtin_name(module) for module in pmod.DEFAULT_PLUGINS]
    assert len(names) == len(set(names))


def test_allow_list_loads_only_named_plugins_and_imports_nothing_else(
    monkeypatch: pytest.MonkeyPatch, no_entry_points: None
) -> None:
    fake_plugin_module(monkeypatch, "shoal_test_allowed", register_runtimes=lambda registry: None)
    builtins = ("shoal_test_allowed", "shoal_test_does_not_exist")
    pm = pmod.build_plugin_manager({"SHOAL_PLUGINS": " shoal_test_allowed ,"}, builtins)
    infos = by_name(pm)
    assert infos["shoal_test_allowed"]["status"] == "loaded"
    # Disabled, not failed: a missing module proves it was never imported.
    assert infos["shoal_test_does_not_exist"]["status"] == "disabled"
    assert infos["shoal_test_does_not_exist"]["error"] is None


def test_empty_allow_list_loads_only_kubernetes_own_kinds(no_entry_points: None) -> None:
    pm = pmod.build_plugin_manager({"SHOAL_PLUGINS": ""})
    loaded = {i["name"] for i in pmod.plugin_info(pm) if i["status"] == "loaded"}
    assert loaded == set(pmod.REQUIRED_PLUGINS)  # no server works without them
    assert pmod.stores(pm).names() == []
    assert "pods" in pmod.kinds(pm).names()


def test_block_list_can_drop_a_kind_plugin(no_entry_points: None) -> None:
    pm = pmod.build_plugin_manager({"SHOAL_DISABLE_PLUGINS": "rbac"})
    assert by_name(pm)["rbac"]["status"] == "disabled"
    assert "roles.rbac.authorization.k8s.io" not in pmod.kinds(pm).names()


def test_block_list(no_entry_points: None) -> None:
    pm = pmod.build_plugin_manager({"SHOAL_DISABLE_PLUGINS": "sqlite"})
    assert by_name(pm)["sqlite"]["status"] == "disabled"
    assert "sqlite" not in pmod.stores(pm)
    # A built-in also answers to its full module name.
    pm = pmod.build_plugin_manager({"SHOAL_DISABLE_PLUGINS": "shoal.plugins.stores.sqlite"})
    assert "sqlite" not in pmod.stores(pm)


def test_environment_is_read_by_a_fresh_process() -> None:
    code = (
        "from shoal import plugin_manager as p;"
        "print(sorted(i['name'] for i in p.plugin_info() if i['status'] == 'loaded'))"
    )
    env = {"SHOAL_DISABLE_PLUGINS": "sqlite", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "'sqlite'" not in out.stdout


def test_plugin_registered_at_runtime_shows_up(fresh: None) -> None:
    class Fake:
        pass

    class TestPlugin:
        @hookimpl
        def register_runtimes(self, registry: Registry[Any]) -> None:
            registry.register("toy", Fake)
            registry.register("toy-slow", Fake)

        @hookimpl
        def register_scheduler_plugins(self, registry: Registry[Any]) -> None:
            registry.register("always", object())

    pm = pmod.get_plugin_manager()
    pm.register(TestPlugin(), name="test-plugin")
    # beside the built-in runtimes (docker, podman, fake)
    assert {"toy", "toy-slow"} <= set(pmod.runtimes().names())
    assert pmod.runtimes().owner("toy") == "test-plugin"
    assert "always" in pmod.scheduler_plugins()
    info = by_name(pm)["test-plugin"]
    assert info["source"] == "runtime"
    assert info["hooks"] == ["register_runtimes", "register_scheduler_plugins"]


def test_duplicate_registration_across_plugins_names_both(fresh: None) -> None:
    class Other:
        @hookimpl
        def register_stores(self, registry: Registry[Any]) -> None:
            registry.register("sqlite", object())

    pm = pmod.get_plugin_manager()
    pm.register(Other(), name="shoal-other-sqlite")
    with pytest.raises(DuplicateNameError) as info:
        pmod.stores()
    assert "'sqlite'" in str(info.value) and "'shoal-other-sqlite'" in str(info.value)


def test_plugin_raising_in_hook_is_named(fresh: None) -> None:
    class Broken:
        @hookimpl
        def register_controllers(self, registry: Registry[Any]) -> None:
            raise RuntimeError("boom")

    pmod.get_plugin_manager().register(Broken(), name="broken")
    with pytest.raises(pmod.PluginError, match="'broken' failed in register_controllers: boom"):
        pmod.controllers()


def fake_entry_points(*entries: tuple[str, str]) -> Any:
    def iterate() -> Iterator[tuple[EntryPoint, str, str]]:
        for name, value in entries:
            yield EntryPoint(name=name, value=value, group="shoal"), f"shoal-{name}", "1.2.3"

    return iterate


def test_failing_entry_point_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    good = fake_plugin_module(
        monkeypatch,
        "shoal_test_good",
        register_proxies=lambda registry: registry.register("third-party-proxy", object),
    )
    entries = fake_entry_points(("broken", "shoal_test_no_such_module"), ("good", good))
    monkeypatch.setattr(pmod, "iter_entry_points", entries)
    pm = pmod.build_plugin_manager({})
    infos = by_name(pm)
    assert infos["broken"]["status"] == "failed"
    assert infos["broken"]["source"] == "shoal-broken 1.2.3"
    assert "ModuleNotFoundError" in infos["broken"]["error"]
    assert infos["good"]["status"] == "loaded"
    assert infos["good"]["source"] == "shoal-good 1.2.3"
    assert "third-party-proxy" in pmod.proxies(pm)
    assert infos["sqlite"]["status"] == "loaded"


def test_entry_point_allow_list_by_distribution_name(monkeypatch: pytest.MonkeyPatch) -> None:
    good = fake_plugin_module(monkeypatch, "shoal_test_dist", register_kinds=lambda registry: None)
    monkeypatch.setattr(pmod, "iter_entry_points", fake_entry_points(("dist", good)))
    pm = pmod.build_plugin_manager({"SHOAL_PLUGINS": "shoal-dist"})
    assert by_name(pm)["dist"]["status"] == "loaded"
    assert by_name(pm)["sqlite"]["status"] == "disabled"


def test_misspelt_hook_fails_with_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    typo = fake_plugin_module(monkeypatch, "shoal_test_typo", register_runtime=lambda registry: 1)
    monkeypatch.setattr(pmod, "iter_entry_points", fake_entry_points(("typo", typo)))
    info = by_name(pmod.build_plugin_manager({}))["typo"]
    assert info["status"] == "failed"
    assert "unknown hook 'register_runtime'; did you mean 'register_runtimes'?" in info["error"]


def test_ctl_commands_hook(fresh: None) -> None:
    class Extra:
        @hookimpl
        def register_ctl_commands(self, cli: click.Group) -> None:
            cli.add_command(click.Command("hello", callback=lambda: click.echo("hi")))

    pmod.get_plugin_manager().register(Extra(), name="extra")
    cli = click.Group("shoal")
    pmod.add_ctl_commands(cli)
    assert CliRunner().invoke(cli, ["hello"]).output == "hi\n"


# --- the sqlite plugin and `shoal plugins` ----------------------------------


def test_sqlite_factory_needs_a_path(fresh: None) -> None:
    factory = pmod.stores().get("sqlite")
    with pytest.raises(ValueError, match="needs a 'path' option"):
        factory({})


def test_sqlite_factory_builds_the_store(fresh: None, tmp_path: Any) -> None:
    from shoal.store.sqlite import SQLiteStore

    store = pmod.stores().get("sqlite")({"path": str(tmp_path / "db"), "compact_keep": 5})
    assert isinstance(store, SQLiteStore)


def test_plugins_command_table_and_json(fresh: None) -> None:
    table = CliRunner().invoke(plugins_command, [])
    assert table.exit_code == 0
    assert table.output.splitlines()[0].split() == ["NAME", "STATUS", "SOURCE", "HOOKS"]
    assert any(
        line.split()[:3] == ["sqlite", "loaded", "builtin"] for line in table.output.splitlines()
    )
    as_json = CliRunner().invoke(plugins_command, ["--json"])
    sqlite = next(p for p in json.loads(as_json.output) if p["name"] == "sqlite")
    assert {"name": "sqlite", "status": "loaded"}.items() <= sqlite.items()
