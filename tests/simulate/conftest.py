"""The secure server and gateway fixtures of tests/security, and ``shoal``
in a process of its own (as a user runs it: a simulation owns its process's
clock and logging)."""

from __future__ import annotations

import subprocess
import sys

from tests.security.conftest import secure_gateway, secure_server  # noqa: F401

MAIN = "import sys; from shoal.ctl.main import main; sys.exit(main())"


def shoal_process(*args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", MAIN, *args], capture_output=True, text=True, check=False
    )
    return done.returncode, done.stdout, done.stderr
