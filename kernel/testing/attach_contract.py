"""The attach part of the runtime contract (``Runtime.attach``), mixed into
:class:`shoal.testing.RuntimeContract`: what ``kubectl attach`` and
``kubectl run -i`` rely on. Every runtime, the fake included, passes it: a
bare ``sh`` made with ``stdin`` reads command lines from its stdin."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest
from shoal.runtime import ContainerConfig, RuntimeFailure

OUTPUT_DEADLINE = 20.0  # seconds an attach may take to show what was typed


class Reader:
    """Collects an attach's output in the background, to wait on."""

    def __init__(self, session: Any) -> None:
        self.out: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read(session))

    async def _read(self, session: Any) -> None:
        async for stream, data in session.output():
            self.out[stream] += data
            self._changed.set()
        self._changed.set()

    async def shows(self, text: bytes, stream: str = "stdout") -> None:
        async def seen() -> None:
            while text not in self.out[stream]:
                if self._task.done():
                    raise AssertionError(f"attach ended before {text!r}; saw {self.out}")
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(seen(), OUTPUT_DEADLINE)
        except TimeoutError:
            raise AssertionError(f"{text!r} not in {stream} of the attach: {self.out}") from None

    async def ended(self) -> dict[str, bytes]:
        await asyncio.wait_for(asyncio.shield(self._task), OUTPUT_DEADLINE)
        return self.out


class AttachContract:
    image: ClassVar[str]
    # Whether a process's stdin outlives an attach that closes it, for a
    # container without stdinOnce (Docker, the fake: yes; Podman: no, it
    # has no StdinOnce and ends the stdin whenever an attach leaves).
    stdin_outlives_attach: ClassVar[bool] = True

    async def _shell(self, runtime: Any, **config: Any) -> str:
        sandbox_id, sandbox = await self.pod(runtime)  # type: ignore[attr-defined]
        shell = ContainerConfig("c", self.image, ["sh"], stdin=True, **config)
        return await self.run(runtime, sandbox_id, sandbox, shell)  # type: ignore[attr-defined,no-any-return]

    async def test_attach_types_into_the_main_process(self, runtime: Any) -> None:
        container_id = await self._shell(runtime, stdin_once=True)
        typing = await runtime.attach(container_id, stdin=True, tty=False)
        watching = await runtime.attach(container_id, stdin=False, tty=False)
        await watching.close_stdin()  # as the agent does when a caller sends no stdin: no-op
        typed, watched = Reader(typing), Reader(watching)
        await typing.write(b"echo attached; echo to-stderr >&2\n")
        await typed.shows(b"attached\n")
        await typed.shows(b"to-stderr\n", "stderr")
        await watched.shows(b"attached\n")  # every attach sees the output
        await typing.write(b"exit 3\n")
        await typed.ended()
        await watched.ended()  # the process ended: so does every attach
        assert (await self.exited(runtime, container_id)).exit_code == 3  # type: ignore[attr-defined]
        with pytest.raises(RuntimeFailure):
            await runtime.attach(container_id, stdin=False, tty=False)

    async def test_attach_with_a_tty_resizes_it(self, runtime: Any) -> None:
        container_id = await self._shell(runtime, stdin_once=True, tty=True)
        session = await runtime.attach(container_id, stdin=True, tty=True)
        reader = Reader(session)
        await session.resize(100, 40)
        await session.write(b"stty size\n")
        await reader.shows(b"40 100")
        await session.write(b"exit 4\n")
        await reader.ended()
        assert (await self.exited(runtime, container_id)).exit_code == 4  # type: ignore[attr-defined]

    async def test_attach_with_stdin_once_ends_the_process_stdin(self, runtime: Any) -> None:
        container_id = await self._shell(runtime, stdin_once=True)
        session = await runtime.attach(container_id, stdin=True, tty=False)
        reader = Reader(session)
        await session.write(b"echo before-eof\n")
        await reader.shows(b"before-eof\n")
        await session.close_stdin()
        await reader.ended()
        assert (await self.exited(runtime, container_id)).exit_code == 0  # type: ignore[attr-defined]

    async def test_attach_without_stdin_once_detaches_on_stdin_close(self, runtime: Any) -> None:
        container_id = await self._shell(runtime)
        watcher = await runtime.attach(container_id, stdin=False, tty=False)
        await watcher.close_stdin()  # as the agent does when a caller sends no stdin: no-op
        watched = Reader(watcher)
        first = await runtime.attach(container_id, stdin=True, tty=False)
        reader = Reader(first)
        await first.write(b"echo first\n")
        await reader.shows(b"first\n")
        await watched.shows(b"first\n")
        await first.close_stdin()
        await reader.ended()  # detached
        if not self.stdin_outlives_attach:
            assert (await self.exited(runtime, container_id)).exit_code == 0  # type: ignore[attr-defined]
            return
        assert (await runtime.container_status(container_id)).state == "running"
        second = await runtime.attach(container_id, stdin=True, tty=False)
        again = Reader(second)
        await second.write(b"echo second\nexit 5\n")
        await again.shows(b"second\n")
        await again.ended()
        assert (await self.exited(runtime, container_id)).exit_code == 5  # type: ignore[attr-defined]
