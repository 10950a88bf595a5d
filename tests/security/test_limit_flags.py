"""`shoal server`'s limit flags reach the API server as RequestLimits."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from shoal import log
from shoal.apiserver import server
from shoal.apiserver.fairness import RequestLimits
from shoal.ctl.server import server_command


def _limits(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, *flags: str) -> RequestLimits:
    seen: dict[str, Any] = {}

    async def serve(*args: Any, **kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(server, "serve", serve)
    monkeypatch.setattr(log, "configure", lambda *a, **k: None)  # leave the session's logging
    result = CliRunner().invoke(server_command, ["--data-dir", str(tmp_path), *flags])
    assert result.exit_code == 0, result.output
    return seen["limits"]


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    assert _limits(monkeypatch, tmp_path) == RequestLimits()
    assert RequestLimits().max_request_bytes == 3 * 1024 * 1024


def test_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    limits = _limits(
        monkeypatch, tmp_path,
        "--max-requests-inflight-per-user", "3", "--request-queue-length-per-user", "7",
        "--request-queue-wait", "0.5", "--max-request-body-bytes", "1048576",
    )  # fmt: skip
    assert limits == RequestLimits(
        max_inflight_per_user=3,
        queue_length_per_user=7,
        queue_wait_seconds=0.5,
        max_request_bytes=1048576,
    )
    assert not _limits(monkeypatch, tmp_path, "--max-requests-inflight-per-user", "0").enabled


def test_a_bad_flag_value_is_a_usage_error(tmp_path: Any) -> None:
    result = CliRunner().invoke(
        server_command, ["--data-dir", str(tmp_path), "--max-requests-inflight-per-user", "-1"]
    )
    assert result.exit_code == 2 and "--max-requests-inflight-per-user" in result.output
