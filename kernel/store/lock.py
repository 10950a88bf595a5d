"""One writer per SQLite store file, across processes.

Two ``shoal server`` on one data dir would both open ``state.db`` and both
count revisions from what they read at start, so every write of both would
then fail on the log's unique revision. The store therefore holds an
exclusive ``flock`` on ``<db>.lock`` from start to close; whoever comes second
is refused with the holder's pid (written into the file), as etcd refuses a
second member on one data dir.

flock is the truth, not the file: the kernel drops the lock when the holder
exits, even on SIGKILL, so a stale file (and the pid in it) is harmless and
the file is never removed (removing it would let a third process lock a new
inode while the second still holds the old one).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pathlib

from shoal.store.base import StoreError

LOCK_MODE = 0o600


class StoreLockedError(StoreError):
    """Another process holds the store's lock."""

    def __init__(self, lock_path: pathlib.Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid else "a process whose pid is not known yet"
        super().__init__(
            f"{lock_path.parent} is in use by {holder} (it holds {lock_path.name}): "
            "stop that process first, or use another --data-dir"
        )
        self.pid = pid


def lock_path_for(db: str | os.PathLike[str]) -> pathlib.Path:
    """``state.db`` is guarded by ``state.db.lock`` next to it."""
    path = pathlib.Path(db)
    return path.with_name(path.name + ".lock")


class StoreLock:
    """An exclusive, non-blocking lock on a store file; see the module docstring."""

    def __init__(self, db: str | os.PathLike[str]) -> None:
        self.path = lock_path_for(db)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock now or raise :class:`StoreLockedError`; never waits."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, LOCK_MODE)
        try:
            os.fchmod(fd, LOCK_MODE)  # the umask may have widened or narrowed it
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreLockedError(self.path, read_holder(self.path)) from None
            raise StoreError(f"cannot lock {self.path}: {err.strerror}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (idempotent); the file stays, see the module docstring."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_holder(lock_path: pathlib.Path) -> int | None:
    """The pid the holder wrote, or None (unreadable, or not written yet)."""
    try:
        text = lock_path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
