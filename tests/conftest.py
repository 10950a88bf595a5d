"""Settings for the whole suite.

Hypothesis runs under one profile, "ci", everywhere: a property test must
pass or fail on its property, never on the machine's speed. A busy CI
machine (or a 2-core box shared with other jobs) can take more than
Hypothesis' default 200 ms deadline per example or trip its ``too_slow``
health check while generating, so neither applies; examples are derived from
each test's name (``derandomize``) so a failure reproduces on every run and
every machine, and no example database is written into the checkout.
``pytest --hypothesis-profile=NAME`` still picks another registered profile.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Hooks that print a hung test's asyncio tasks (see tests/hangdump.py).
from tests.hangdump import (  # noqa: F401
    pytest_runtest_call,
    pytest_runtest_setup,
    pytest_runtest_teardown,
    pytest_sessionstart,
)

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=100,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
settings.load_profile("ci")
