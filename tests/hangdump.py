"""What a hung test is waiting for: pytest-timeout (120 s) prints every
thread's stack, but a test or fixture stuck in ``await`` shows only its
event loop idle in ``select``. When one phase of a test (setup, call,
teardown) has run for ``DUMP_AFTER`` seconds, this prints the stack of every
task of every running event loop once, to stderr (captured with the test's
output, so it shows in the report when the timeout then fails it).

Seen rarely in full runs: a teardown that never ends with the loop idle
(an in-process cluster, a podman node); the dump is to say which await.
"""

from __future__ import annotations

import asyncio
import gc
import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

DUMP_AFTER = float(os.environ.get("SHOAL_HANGDUMP_AFTER", "90"))
CHECK_EVERY = min(5.0, DUMP_AFTER / 2)

_current: dict[str, Any] = {}
_lock = threading.Lock()


def _running_loops() -> list[asyncio.AbstractEventLoop]:
    return [
        o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()
    ]


def _dump(name: str, phase: str, seconds: float) -> None:
    out = io.StringIO()
    out.write(f"\n+++ {name} ({phase}) still running after {seconds:.0f} s: asyncio tasks +++\n")
    for loop in _running_loops():
        try:
            tasks = list(asyncio.all_tasks(loop))
        except RuntimeError:  # the set changed while we read it
            continue
        for task in tasks:
            out.write(f"--- {task!r}\n")
            _write_stack(task, out)
    sys.stderr.write(out.getvalue())
    sys.stderr.flush()


def _write_stack(task: asyncio.Task[object], out: io.StringIO) -> None:
    """The task's frames, read from this thread while the loop runs: a frame
    may be mid-step (its line unknown), which ``Task.print_stack`` does not
    survive (it raised TypeError in linecache)."""
    try:
        frames = task.get_stack()
    except Exception as err:  # the task moved on while we looked
        out.write(f"    (stack unavailable: {err!r})\n")
        return
    for frame in frames:
        code = frame.f_code
        out.write(f"    {code.co_filename}:{frame.f_lineno} in {code.co_name}\n")


def _watch() -> None:
    while True:
        time.sleep(CHECK_EVERY)
        with _lock:
            name, phase = _current.get("name"), _current.get("phase")
            began, dumped = _current.get("began", 0.0), _current.get("dumped", True)
        if name is None or dumped:
            continue
        seconds = time.monotonic() - began
        if seconds >= DUMP_AFTER:
            with _lock:
                _current["dumped"] = True
            _dump(name, phase, seconds)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    threading.Thread(target=_watch, name="hangdump", daemon=True).start()


def _phase(item: pytest.Item, phase: str) -> Iterator[None]:
    with _lock:
        _current.update(name=item.nodeid, phase=phase, began=time.monotonic(), dumped=False)
    try:
        yield
    finally:
        with _lock:
            _current.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield from _phase(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield from _phase(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield from _phase(item, "teardown")
