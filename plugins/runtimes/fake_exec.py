"""An interactive exec in a fake container.

``sh`` (or ``sh -i``) with stdin reads command lines and runs each through the
fake shell until ``exit`` or the end of stdin; a tty echoes what is typed and
answers ``\\r\\n`` as a terminal does. Any other command runs once, with all
of stdin (``cat`` echoes it back).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

from shoal.plugins.runtimes.fake_shell import Shell

Stream = Literal["stdout", "stderr"]
INTERACTIVE = (["sh"], ["/bin/sh"], ["sh", "-i"])  # read command lines from stdin


class FakeExecSession:
    def __init__(self, shell: Shell, command: list[str], *, stdin: bool, tty: bool) -> None:
        self.shell, self.command, self.tty = shell, command, tty
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._out: asyncio.Queue[tuple[Stream, bytes] | None] = asyncio.Queue()
        if not stdin:
            self._stdin.put_nowait(None)
        self._task = asyncio.create_task(self._run())

    async def write(self, data: bytes) -> None:
        await self._stdin.put(data)

    async def close_stdin(self) -> None:
        await self._stdin.put(None)

    async def output(self) -> AsyncIterator[tuple[Stream, bytes]]:
        while (item := await self._out.get()) is not None:
            yield item

    async def resize(self, width: int, height: int) -> None:
        self.shell.size = (height, width)

    async def wait(self) -> int:
        return await asyncio.shield(self._task)

    def cancel(self) -> None:
        """End the command (its container stopped)."""
        self._task.cancel()

    def _emit(self, stream: Stream, data: bytes) -> None:
        if self.tty:  # a terminal has one output stream and CRLF line ends
            stream, data = "stdout", data.replace(b"\n", b"\r\n")
        self._out.put_nowait((stream, data))

    async def _run(self) -> int:
        try:
            if self.command in INTERACTIVE:
                return await self._interactive()
            return await self.shell.run(self.command, self._emit, await self._read_all())
        finally:
            self._out.put_nowait(None)

    async def _read_all(self) -> bytes:
        data = bytearray()
        while (chunk := await self._stdin.get()) is not None:
            data.extend(chunk)
        return bytes(data)

    async def _interactive(self) -> int:
        code, pending = 0, b""
        while (chunk := await self._stdin.get()) is not None:
            if self.tty:
                self._emit("stdout", chunk.replace(b"\r", b"\n"))
            pending += chunk.replace(b"\r", b"\n")
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                text = line.decode(errors="replace").strip()
                if text:
                    code = await self.shell.script(text, self._emit)
                if self.shell.exited:  # ``exit N``, alone or after other commands
                    return code
        return code
