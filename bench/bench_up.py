"""``shoal up``: cold start to a Ready node (a fresh data directory each
time, runtime as ``shoal up`` picks it), then the idle memory of the server
and the agent (the largest over the rounds). Baselines from the same run:
the start of a bare ``shoal`` command (``shoal version --client``, median of
3; the floor of any Python process that imports the CLI) and the RSS of an
idle Python interpreter."""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-m", "shoal.ctl.main"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - started


def _one_up(tmp: Path, settle: float) -> dict[str, Any]:
    home, config = tmp / "home", tmp / "config"
    listen = f"127.0.0.1:{_free_port()}"
    node = f"bench-{uuid.uuid4().hex[:6]}"
    up = [*CLI, "--config", str(config), "up", "--data-dir", str(home), "--listen", listen]
    try:
        seconds = _timed([*up, "--node-name", node])
        runtime = (home / "run" / "cluster.json").read_text()
        time.sleep(settle)  # idle memory: after start-up work has settled
        pids = {c: int((home / "run" / f"{c}.pid").read_text()) for c in ("server", "agent")}
        memory = {f"{c}_rss_mb": _rss_mb(pid) for c, pid in pids.items()}
    finally:
        subprocess.run([*CLI, "down", "--data-dir", str(home), "--delete"], capture_output=True)
    return {"seconds": round(seconds, 2), "runtime": runtime, **memory}


def _idle_python_rss() -> float:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.5)
        return _rss_mb(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def run(rounds: int = 3, settle: float = 5.0) -> dict[str, Any]:
    floor = statistics.median(_timed([*CLI, "version", "--client"]) for _ in range(3))
    runs = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(_one_up(Path(tmp), settle))
    import json

    runtime = json.loads(runs[0]["runtime"])["runtime"]
    result = {
        "runtime": runtime,
        "up_to_ready_s": [r["seconds"] for r in runs],
        "up_to_ready_median_s": statistics.median(r["seconds"] for r in runs),
        "bare_cli_start_s": round(floor, 2),
        "server_rss_max_mb": max(r["server_rss_mb"] for r in runs),
        "agent_rss_max_mb": max(r["agent_rss_mb"] for r in runs),
        "idle_python_rss_mb": _idle_python_rss(),
    }
    print(
        f"   runtime {runtime}: up to Ready {result['up_to_ready_s']} s "
        f"(median {result['up_to_ready_median_s']} s; goal < 3 s); "
        f"bare `shoal version --client` median of 3: {result['bare_cli_start_s']} s"
    )
    print(
        f"   idle RSS, max of {rounds} runs: server {result['server_rss_max_mb']} MB (goal < 100), "
        f"agent {result['agent_rss_max_mb']} MB (goal < 60); "
        f"idle python {result['idle_python_rss_mb']} MB"
    )
    return result
