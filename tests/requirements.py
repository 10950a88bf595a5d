"""What a test needs from the machine (etcd, iptables, kubectl, node and
npm, the ``kubernetes`` Python client, Docker, Podman), in one place.

On a laptop without one of them its tests skip, saying why. Under
``SHOAL_E2E_REQUIRE_ENGINES=1`` (set by ``.ci/run``, which installs them all)
they fail instead, so CI can never pass by skipping. Every test that depends
on such a tool goes through :func:`require`, never ``pytest.skip``,
``skipif`` or ``importorskip`` of its own.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType

import pytest

REQUIRE_ENV = "SHOAL_E2E_REQUIRE_ENGINES"


def strict() -> bool:
    """True when a missing tool fails its tests instead of skipping them."""
    return os.environ.get(REQUIRE_ENV) == "1"


def require(tool: str, reason: str | None) -> None:
    """Go on when ``reason`` is None (``tool`` is usable); else skip the test
    (or, in strict mode, fail it) with ``reason``. Works at module level too."""
    if reason is None:
        return
    message = f"{tool}: {reason}"
    if strict():
        pytest.fail(f"{message} ({REQUIRE_ENV}=1: a missing tool is a failure)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_binary(name: str) -> str:
    """The path of the program ``name`` on PATH; see :func:`require`."""
    path = shutil.which(name)
    require(name, None if path else "is not installed (not on PATH)")
    assert path is not None
    return path


def require_module(name: str) -> ModuleType:
    """The Python module ``name``, imported; see :func:`require`."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        require(f"the {name} Python package", f"cannot be imported: {err}")
        raise  # unreachable: require skipped or failed


def require_etcd() -> str:
    """The etcd binary shoal's local etcd would run; see :func:`require`."""
    from shoal.plugins.stores.etcd_local import EtcdNotFoundError, etcd_binary

    try:
        return etcd_binary()
    except EtcdNotFoundError as err:
        require("etcd", str(err))
        raise  # unreachable: require skipped or failed
