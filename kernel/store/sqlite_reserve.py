"""Room kept for deletes on a full disk.

Every write to the revision log appends, a delete included (it records the
deletion), so a store whose disk is full could not even delete to make
room. The writer keeps a reserve file of ``size`` bytes beside the database
(``state.db-reserve``). When SQLite reports the disk full, the reserve is
released so deletes (and compaction) can proceed, and creates and updates
are refused until the reserve can be made again, which happens as soon as
there is room for it: the store then writes normally again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from pathlib import Path

import structlog

log = structlog.get_logger("shoal.store.sqlite")
DEFAULT_RESERVE_BYTES = 4 << 20  # room for deletes of a few of the largest objects (1.5 MiB)
_CHUNK = 1 << 16


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class Reserve:
    def __init__(self, path: Path, size: int = DEFAULT_RESERVE_BYTES) -> None:
        self.path, self.size = path, size
        self.released = False  # True: the disk was full; only deletes go through

    def ensure(self) -> bool:
        """Make (or keep) the reserve; False when there is no room for it."""
        if self.size <= 0:
            self.released = False
            return True
        try:
            if not self.path.exists() or self.path.stat().st_size < self.size:
                self._allocate()
        except OSError as err:
            with contextlib.suppress(OSError):
                self.path.unlink()
            if not self.released:
                log.warning("no room for the store's disk reserve", path=str(self.path),
                            error=str(err))  # fmt: skip
            self.released = True
            return False
        if self.released:
            log.info("the store's disk has room again; writes resume", path=str(self.path))
        self.released = False
        return True

    def _allocate(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            try:
                os.posix_fallocate(fd, 0, self.size)
            except OSError as err:
                if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                self._write_zeros(fd)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_zeros(self, fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        done = 0
        while done < self.size:
            done += os.write(fd, b"\0" * min(_CHUNK, self.size - done))

    def release(self) -> None:
        """The disk is full: give the reserve's room to deletes."""
        if not self.released:
            log.error(
                "the store's disk is full: writes are refused, deletes still work",
                path=str(self.path.parent),
            )
        self.released = True
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
