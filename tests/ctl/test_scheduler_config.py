"""``shoal server --scheduler-config FILE``: a bad file is a usage error
naming what is wrong, before anything starts."""

from __future__ import annotations

import pathlib

import yaml

from tests.ctl.conftest import Shoal


async def test_a_bad_scheduler_config_is_refused_before_starting(
    shoal: Shoal, tmp_path: pathlib.Path
) -> None:
    bad = tmp_path / "scheduler.yaml"
    bad.write_text(
        yaml.safe_dump({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "Nope"}]}}}]})
    )
    result = await shoal("server", "--scheduler-config", str(bad), server=False)
    assert result.code == 2
    assert "Invalid value for '--scheduler-config'" in result.err
    assert "unknown plugin 'Nope'" in result.err
    assert "Traceback" not in result.err
    missing = await shoal(
        "server", "--scheduler-config", str(tmp_path / "absent.yaml"), server=False
    )
    assert missing.code == 2 and "No such file or directory" in missing.err
