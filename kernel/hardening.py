"""What a long-running shoal process (``shoal server``, ``shoal agent``)
does to itself at start, before it opens any file or socket.

- ``private_data_dir``: the data dir holds every object of the cluster
  (ConfigMaps, env values, RBAC), keys and the audit log, so it is 0700 and
  every file in it 0600; the umask makes every later file (SQLite's -wal
  and -shm among them) private from its first byte, and files an older
  version left readable are fixed, with a warning.
- ``raise_open_files_limit``: every connection is a descriptor; the soft
  RLIMIT_NOFILE (1024 by default on most systems) is raised to the hard
  limit, as etcd, containerd and the kubelet run;
- ``quiet_accept_errors``: should descriptors run out all the same, the
  event loop's "socket.accept() out of system resource" is logged once a
  minute with a count, not once per attempt (that was 100,000 lines in
  seconds).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import stat
import time
from typing import Any

import structlog

log = structlog.get_logger("shoal")
PRIVATE_UMASK = 0o077


def private_data_dir(path: pathlib.Path) -> list[pathlib.Path]:
    """Make ``path`` (and the process's later files) private; returns the
    paths whose mode had to be narrowed."""
    os.umask(PRIVATE_UMASK)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    fixed = [p for p in [path, *_walk(path)] if _narrow(p)]
    for p in fixed:
        log.warning(
            "file was readable by other users; made private",
            path=str(p),
            hint="every file in the data dir holds cluster state or keys",
        )
    return fixed


def private_agent_dir(path: pathlib.Path) -> list[pathlib.Path]:
    """The agent's data dir 0700 and its ``pki/`` private. No umask, and pod
    volumes keep their modes: containers' own users read ConfigMap and
    Secret files (``defaultMode``) through their bind mounts, which do not
    pass through the 0700 directory above them; other local users do."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    pki = path / "pki"
    fixed = [p for p in [path, *(_walk(pki) if pki.is_dir() else [])] if _narrow(p)]
    if pki.is_dir() and _narrow(pki):
        fixed.append(pki)
    for p in fixed:
        log.warning("file was readable by other users; made private", path=str(p))
    return fixed


def _walk(root: pathlib.Path) -> list[pathlib.Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = pathlib.Path(dirpath)
        found += [base / n for n in dirnames] + [base / n for n in filenames]
    return found


def _narrow(path: pathlib.Path) -> bool:
    """Drop group and other bits (symlinks and sockets are left alone)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    mode = stat.S_IMODE(st.st_mode)
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)) or not mode & 0o077:
        return False
    os.chmod(path, mode & 0o700)
    return True


def raise_open_files_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit; returns (soft, hard) after."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as err:
            log.warning("cannot raise the open files limit", soft=soft, hard=hard, error=str(err))
    log.debug("open files limit", soft=soft, hard=hard)
    return soft, hard


ACCEPT_ERROR = "socket.accept() out of system resource"


def quiet_accept_errors(loop: asyncio.AbstractEventLoop, every: float = 60.0) -> None:
    """Log the loop's accept failures (EMFILE, ENFILE...) once per ``every``
    seconds; everything else goes to the handler there was."""
    previous = loop.get_exception_handler()
    state = {"last": -every, "suppressed": 0}

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not str(context.get("message", "")).startswith(ACCEPT_ERROR):
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - state["last"] < every:
            state["suppressed"] += 1
            return
        log.error(
            "cannot accept connections: out of descriptors",
            error=str(context.get("exception", "")),
            suppressed_since_last=state["suppressed"],
            hint="raise the open files limit (ulimit -n) or lower --max-connections",
        )
        state["last"], state["suppressed"] = now, 0

    loop.set_exception_handler(handler)
