"""The suite's Hypothesis profile (tests/conftest.py): property tests never
fail for the machine's speed and run the same examples on every run."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def test_ci_profile_is_loaded_for_the_whole_suite() -> None:
    active = settings.default
    assert active is not None
    assert active.deadline is None
    assert {HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much} <= set(
        active.suppress_health_check
    )
    assert active.derandomize is True
    assert active.max_examples == 100
    assert active.database is None
    assert settings.get_profile("ci") == active
