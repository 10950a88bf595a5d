"""One process per SQLite store file: a second opener is refused, naming the
holder's pid, and the lock goes with close or with the holder's death."""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import stat
import sys

import pytest
from shoal.store.lock import StoreLockedError, lock_path_for
from shoal.store.sqlite import SQLiteStore

TIMEOUT = 10.0
HELPER = pathlib.Path(__file__).with_name("kill_writer.py")


async def test_second_store_on_one_file_is_refused_until_the_first_closes(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "state.db"
    first = SQLiteStore(path, compact_keep=0)
    await first.start()
    lock = lock_path_for(path)
    assert lock == tmp_path / "state.db.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert lock.read_text() == f"{os.getpid()}\n"
    second = SQLiteStore(path, compact_keep=0)
    with pytest.raises(StoreLockedError, match=rf"in use by pid {os.getpid()} "):
        await second.start()
    await second.close()  # closing a store that never started is harmless
    # The refused opener touched nothing: the first still writes in sequence.
    assert (await first.create("a", b"1")).mod_revision == 1
    assert (await first.create("b", b"1")).mod_revision == 2
    await first.close()

    third = SQLiteStore(path, compact_keep=0)
    await third.start()
    try:
        assert (await third.create("c", b"1")).mod_revision == 3
    finally:
        await third.close()


async def test_lock_of_another_process_names_it_and_dies_with_it(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "state.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HELPER), str(path), "1", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), TIMEOUT) == b"ready\n"
        store = SQLiteStore(path, compact_keep=0)
        with pytest.raises(StoreLockedError, match=rf"pid {proc.pid} ") as refused:
            await store.start()
        assert refused.value.pid == proc.pid
        assert "\n" not in str(refused.value)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
    # SIGKILL gave no chance to unlock: the kernel drops the flock with the process.
    store = SQLiteStore(path, compact_keep=0)
    await store.start()
    try:
        before = await store.current_revision()
        assert (await store.create("after", b"x")).mod_revision == before + 1
    finally:
        await store.close()
