"""`shoal server --horizontal-pod-autoscaler-sync-period/-downscale-stabilization`
reach the control plane's options (the controller reads them: see
tests/autoscaling/test_hpa_hollow.py); a bad value is refused before anything
starts. ``serve`` is replaced to isolate the flag wiring."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from shoal.ctl.main import _register, cli


def test_server_passes_the_autoscaler_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    seen: dict[str, Any] = {}

    async def serve(*args: Any, **kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr("shoal.apiserver.server.serve", serve)
    _register()
    result = CliRunner().invoke(cli, [
        "server", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0",
        "--horizontal-pod-autoscaler-sync-period", "2s",
        "--horizontal-pod-autoscaler-downscale-stabilization", "1m30s",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert seen["controller_options"] == {
        "horizontal_pod_autoscaler_sync_period": 2.0,
        "horizontal_pod_autoscaler_downscale_stabilization": 90.0,
    }


def test_a_bad_sync_period_is_refused() -> None:
    _register()
    result = CliRunner().invoke(cli, ["server", "--horizontal-pod-autoscaler-sync-period", "soon"])
    assert result.exit_code == 2
    assert 'invalid duration "soon"' in result.output
