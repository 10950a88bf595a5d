"""Attach to a fake container's main process.

A container's main process writes through its :class:`MainIO`: every chunk
goes to the log and to each attached session. A container made with
``stdin: true`` whose command is a bare shell (``sh``, ``sh -i``) runs that
shell interactively on the container's stdin (``fake_exec``), so an attach
with stdin types into it: a line is a command, ``exit N`` or the end of stdin
ends the container. Closing an attach's stdin ends the container's stdin only
with ``stdinOnce``; without, it ends that attach, as on Docker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

from shoal.plugins.runtimes.fake_exec import INTERACTIVE, FakeExecSession
from shoal.plugins.runtimes.fake_shell import Shell

Stream = Literal["stdout", "stderr"]
Output = asyncio.Queue[tuple[Stream, bytes] | None]


@dataclass
class MainIO:
    """The main process's output (to the log and to attached sessions) and,
    when it reads stdin, its stdin."""

    log: Callable[[bytes], None]
    attached: list[Output] = field(default_factory=list)
    stdin: FakeExecSession | None = None

    def write(self, stream: Stream, data: bytes) -> None:
        self.log(data)
        for queue in self.attached:
            queue.put_nowait((stream, data))

    def ended(self) -> None:
        """The process ended: every attach's output ends."""
        if self.stdin is not None:
            self.stdin.cancel()
        for queue in self.attached:
            queue.put_nowait(None)
        self.attached.clear()

    def open_stdin(self, shell: Shell, argv: list[str], tty: bool) -> None:
        """Start a shell on the container's stdin (at once, so an attach
        right after the start types into it)."""
        self.stdin = FakeExecSession(shell, argv, stdin=True, tty=tty)

    async def run_interactive(self) -> int:
        """Pass on the shell's output until it ends; its exit code."""
        assert self.stdin is not None
        async for stream, data in self.stdin.output():
            self.write(stream, data)
        return await self.stdin.wait()


def reads_stdin(argv: list[str], stdin: bool) -> bool:
    return stdin and argv in INTERACTIVE


class FakeAttachSession:
    """One attach: the main process's output from now on; stdin passed on
    when asked and the process reads it."""

    def __init__(
        self, main: MainIO, *, stdin: bool, stdin_once: bool, exit_code: Callable[[], int]
    ) -> None:
        self.main, self.stdin_once, self.exit_code = main, stdin_once, exit_code
        self.stdin = main.stdin if stdin else None
        self._out: Output = asyncio.Queue()
        main.attached.append(self._out)

    async def write(self, data: bytes) -> None:
        if self.stdin is not None:
            await self.stdin.write(data)

    async def close_stdin(self) -> None:
        """As Docker: with ``stdinOnce`` the process's stdin ends (and the
        attach with the process); without, this attach ends, the process
        runs on."""
        if self.stdin is None:
            return
        if self.stdin_once:
            await self.stdin.close_stdin()
        else:
            self._out.put_nowait(None)
        self.stdin = None

    async def output(self) -> AsyncIterator[tuple[Stream, bytes]]:
        try:
            while (item := await self._out.get()) is not None:
                yield item
        finally:
            if self._out in self.main.attached:
                self.main.attached.remove(self._out)

    async def resize(self, width: int, height: int) -> None:
        if self.main.stdin is not None:
            await self.main.stdin.resize(width, height)

    async def wait(self) -> int:
        return self.exit_code()
