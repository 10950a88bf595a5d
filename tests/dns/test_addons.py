"""`shoal addons list|enable|disable` and what `shoal up` then starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shoal.ctl import localcluster as lc
from shoal.ctl.addons import enabled
from shoal.ctl.cluster import _agent_args, _server_args

from tests.services.test_up import _shoal


def test_dns_is_on_by_default_and_can_be_disabled(tmp_path: Path) -> None:
    home = str(tmp_path / "cluster")
    listed = _shoal(tmp_path, "addons", "list", "--data-dir", home)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[:2] for line in listed.stdout.splitlines()[1:]] == [
        ["dashboard", "enabled"],
        ["dns", "enabled"],
        ["metrics-server", "enabled"],
    ]
    off = _shoal(tmp_path, "addons", "disable", "dns", "--data-dir", home)
    assert off.returncode == 0 and "addon dns disabled" in off.stdout, off.stderr
    assert "disabled" in _shoal(tmp_path, "addons", "list", "--data-dir", home).stdout
    assert enabled(lc.Paths.under(home)) == {
        "dns": False, "metrics-server": True, "dashboard": True,
    }  # fmt: skip
    on = _shoal(tmp_path, "addons", "enable", "dns", "--data-dir", home)
    assert on.returncode == 0 and enabled(lc.Paths.under(home))["dns"]


def test_an_unknown_addon_is_refused(tmp_path: Path) -> None:
    bad = _shoal(tmp_path, "addons", "enable", "nope", "--data-dir", str(tmp_path))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert 'addon "nope" does not exist; available: dashboard, dns, metrics-server' in bad.stderr


def test_up_passes_the_dns_flags_by_the_addon(tmp_path: Path) -> None:
    paths = lc.Paths.under(str(tmp_path))
    server = _server_args(paths, "127.0.0.1:6443", "127.0.0.1:6444", True)
    assert server[-2:] == ["--cluster-dns", "10.96.0.10"]
    assert "--cluster-dns" not in _server_args(paths, "127.0.0.1:6443", "127.0.0.1:6444", False)
    assert "--cluster-dns" in _agent_args(paths, "127.0.0.1:6443", "docker", "n", True)
    assert "--no-cluster-dns" in _agent_args(paths, "127.0.0.1:6443", "docker", "n", False)


def test_up_leaves_the_metrics_plugin_out_when_metrics_server_is_disabled(tmp_path: Path) -> None:
    paths = lc.Paths.under(str(tmp_path))
    assert "--disable-plugins" not in _server_args(paths, "127.0.0.1:6443", "127.0.0.1:6444")
    off = _server_args(paths, "127.0.0.1:6443", "127.0.0.1:6444", True, metrics=False)
    assert off[off.index("--disable-plugins") + 1] == "metrics"
    home = str(tmp_path / "cluster")
    disabled = _shoal(tmp_path, "addons", "disable", "metrics-server", "--data-dir", home)
    assert disabled.returncode == 0, disabled.stderr
    assert enabled(lc.Paths.under(home)) == {
        "dns": True, "metrics-server": False, "dashboard": True,
    }  # fmt: skip


def test_server_disable_plugins_keeps_the_plugin_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from shoal.ctl.server import _disable_plugins
    from shoal.plugin_manager import api_services, reset_plugin_manager

    monkeypatch.setenv("SHOAL_DISABLE_PLUGINS", "podman")
    try:
        _disable_plugins("metrics")
        assert "metrics" not in api_services().names()
        assert os.environ["SHOAL_DISABLE_PLUGINS"] == "podman,metrics"
    finally:
        monkeypatch.delenv("SHOAL_DISABLE_PLUGINS")
        reset_plugin_manager()
    assert "metrics" in api_services().names()


def test_up_runs_the_dashboard_by_the_addon(tmp_path: Path) -> None:
    paths = lc.Paths.under(str(tmp_path))
    server = _server_args(
        paths, "127.0.0.1:6443", "127.0.0.1:6444", True, dashboard="127.0.0.1:6445"
    )
    assert server[server.index("--http-server") + 1] == "dashboard=127.0.0.1:6445"
    assert "--http-server" not in _server_args(paths, "127.0.0.1:6443", "127.0.0.1:6444", True)
