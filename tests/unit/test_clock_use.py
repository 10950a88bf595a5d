"""Control-plane code reads the time through ``shoal.clock`` so that ``shoal
simulate`` can run it on a virtual clock. This walks plugins/, kernel/ and
agent/ for direct reads of the real clock (``time.time()``,
``time.monotonic()``, ``time.time_ns()``, ``datetime.now()``,
``datetime.utcnow()``, ``Timestamp.GetCurrentTime()``, called or passed as a
function); only the files below may read it, each for a reason that is not
simulated behaviour. ``time.perf_counter`` (latency metrics) is not looked at."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCANNED = ("plugins", "kernel", "agent")
TIME_FUNCTIONS = {"time", "monotonic", "time_ns", "monotonic_ns"}
ALLOWED = {
    "kernel/clock.py": "the clock itself",
    "kernel/events.py": "an Event's name needs a unique suffix, not a time",
    "kernel/pki.py": "certificate validity (security)",
    "kernel/certauth.py": "certificate assertions' validity windows (security)",
    "kernel/hardening.py": "throttles an error log line (logging)",
    "kernel/apiserver/authn.py": "credential expiry (security)",
    "kernel/apiserver/tokens.py": "token expiry and cache (security)",
    "kernel/apiserver/jointokens.py": "join token expiry (security)",
    "kernel/apiserver/admintoken.py": "admin token renewal (security)",
    "kernel/apiserver/certificates.py": "issued certificates' expiry (security)",
    "kernel/apiserver/replay.py": "client assertion replay window (security)",
    "kernel/apiserver/audit.py": "audit log line times and its warning throttle",
    "kernel/apiserver/connlimits.py": "connection rate limits of the real server",
    "kernel/store/sqlite_writer.py": "store internals: a revision's write time",
    "kernel/store/sqlite_retention.py": "store internals: history retention",
    "kernel/testing/runtime_contract.py": "tests real runtimes against the real clock",
    "agent/tokens.py": "the agent's credential renewal (security)",
    "agent/resourcestats.py": "the host's CPU counters are on the real clock",
    "agent/podsync.py": "pod start latency for Prometheus (metrics)",
    "plugins/gateway/access.py": "authorization decisions cache (security)",
    "plugins/dashboard/actions.py": "a person's restart annotation, not the control plane",
    "plugins/dashboard/views.py": "ages shown to a person in the dashboard",
    "plugins/proxy/balancer.py": "affinity and failure cool-down of real network traffic",
    "plugins/proxy/relay.py": "idle UDP sessions of real network traffic",
    "plugins/runtimes/engine_stats.py": "a real container engine's stats",
    "plugins/runtimes/podman_service.py": "waits for a real podman service to start",
    "plugins/stores/etcd_local.py": "store internals: waits for a real etcd to start",
    "plugins/stores/etcd_history.py": "store internals: a revision's write time",
    "plugins/stores/etcd_retention.py": "store internals: history retention",
    "plugins/simulate/runner.py": "the simulation's epoch and wall time (the virtual clock's base)",
}


def _is_name(node: ast.expr, *names: str) -> bool:
    if isinstance(node, ast.Name):
        return node.id in names
    return isinstance(node, ast.Attribute) and node.attr in names


def _reads_clock(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        if node.attr in TIME_FUNCTIONS:
            return _is_name(node.value, "time", "_time")
        if node.attr in ("now", "utcnow"):
            return _is_name(node.value, "datetime")
        return node.attr == "GetCurrentTime"
    if isinstance(node, ast.ImportFrom) and node.module == "time":
        return any(alias.name in TIME_FUNCTIONS for alias in node.names)
    return False


def clock_reads(source: str) -> list[int]:
    """Line numbers where the real clock is read directly."""
    nodes = ast.walk(ast.parse(source))
    return sorted(n.lineno for n in nodes if isinstance(n, ast.expr | ast.stmt) and _reads_clock(n))


def test_the_scanner_finds_a_clock_read() -> None:
    assert clock_reads("import time\nx = time.time()") == [2]
    assert clock_reads("def f(clock=time.monotonic): pass") == [1]
    assert clock_reads("x = datetime.datetime.now(datetime.UTC)") == [1]
    assert clock_reads("from datetime import datetime\nx = datetime.utcnow()") == [2]
    assert clock_reads("stamp.GetCurrentTime()") == [1]
    assert clock_reads("from time import monotonic") == [1]
    assert clock_reads("x = clock.time(); y = time.perf_counter(); z = loop.time()") == []


def _sources() -> list[pathlib.Path]:
    return [
        path
        for top in SCANNED
        for path in sorted((ROOT / top).rglob("*.py"))
        if "_pb2" not in path.name
    ]


def test_control_plane_code_reads_the_time_through_shoal_clock() -> None:
    found = {}
    for path in _sources():
        name = path.relative_to(ROOT).as_posix()
        lines = clock_reads(path.read_text())
        if lines and name not in ALLOWED:
            found[name] = lines
    assert not found, (
        f"read shoal.clock (time(), monotonic(), time_ns(), now_stamp()) instead: {found}; "
        "or, if the real clock is meant (credentials, metrics), add the file to ALLOWED with why"
    )


def test_every_allowed_file_still_reads_the_real_clock() -> None:
    stale = [name for name in ALLOWED if not clock_reads((ROOT / name).read_text())]
    assert not stale, f"no longer reads the real clock; drop from ALLOWED: {stale}"
