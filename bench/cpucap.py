"""A CPU quota for one process, through a cgroup of its own: the
simulated core of ``bench api_processes`` (several API processes, each held
to a fraction of a core, so that four of them, etcd and the load generator
fit a 2-core machine and the processes never compete for a core).

cgroup v1 (``/sys/fs/cgroup/cpu``: ``cpu.cfs_quota_us``) and v2
(``/sys/fs/cgroup``: ``cpu.max``) both work; either needs root. Where
neither can be written, :func:`available` says why and the benchmark skips
the simulation."""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Iterator

V1 = pathlib.Path("/sys/fs/cgroup/cpu")
V2 = pathlib.Path("/sys/fs/cgroup")
PERIOD_US = 100_000


def _root() -> tuple[pathlib.Path, int]:
    if (V1 / "cpu.cfs_quota_us").exists():
        return V1, 1
    if "cpu" in (V2 / "cgroup.controllers").read_text(errors="replace").split():
        return V2, 2
    raise OSError("no cpu cgroup controller (v1 /sys/fs/cgroup/cpu or v2 cpu.max)")


def available() -> str:
    """ "" if a quota can be set here, else why not."""
    try:
        root, _version = _root()
        probe = root / f"shoal-bench-probe-{os.getpid()}"
        probe.mkdir()
        probe.rmdir()
    except OSError as err:
        return str(err)
    return ""


@contextlib.contextmanager
def capped(pid: int, cores: float, name: str) -> Iterator[pathlib.Path]:
    """Hold process ``pid`` (all its threads) to ``cores`` of CPU time per
    second while in the block; yields the cgroup."""
    root, version = _root()
    group = root / f"shoal-bench-{name}-{os.getpid()}"
    group.mkdir()
    try:
        quota = max(int(cores * PERIOD_US), 1000)
        if version == 1:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        (group / "cgroup.procs").write_text(str(pid))
        yield group
    finally:
        with contextlib.suppress(OSError):  # the process may be gone already
            (root / "cgroup.procs").write_text(str(pid))
        with contextlib.suppress(OSError):
            group.rmdir()


def cpu_seconds(pid: int) -> float:
    """CPU time process ``pid`` (every thread) used so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
