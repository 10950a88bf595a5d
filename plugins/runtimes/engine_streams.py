"""Logs, exec and attach on Docker and Podman, spoken straight to the engine socket
(see :mod:`engine_http`): the two engines share these endpoints' shapes
(Podman's libpod API mirrors Docker's for them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from typing import Any

from shoal.plugins.runtimes.engine import LABEL_STDIN_ONCE
from shoal.plugins.runtimes.engine_http import Endpoint, Response, Stream, body_chunks, check, demux
from shoal.runtime import ExecResult, RuntimeFailure

EXIT_CODE_DEADLINE = 10.0


class EngineStreams:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    async def logs(
        self, container_id: str, *, follow: bool, tail: int, timestamps: bool
    ) -> AsyncIterator[bytes]:
        info = await self.endpoint.call("GET", f"/containers/{container_id}/json")
        tty = bool((info.get("Config") or {}).get("Tty"))
        query = {
            "stdout": "true",
            "stderr": "true",
            "follow": str(follow).lower(),
            "timestamps": str(timestamps).lower(),
            "tail": "all" if tail < 0 else str(tail),
        }
        response = await self.endpoint.request("GET", f"/containers/{container_id}/logs", query)
        try:
            await _check_stream(response, "logs")
            async for _, data in demux(body_chunks(response), tty):
                yield data
        finally:
            response.writer.close()

    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> EngineExecSession:
        exec_id = await self._create(container_id, command, stdin=stdin, tty=tty)
        response = await self.endpoint.request(
            "POST", f"/exec/{exec_id}/start", body={"Detach": False, "Tty": tty}, upgrade=True
        )
        await _check_stream(response, "exec")
        return EngineExecSession(self.endpoint, exec_id, response, tty)

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> EngineAttachSession:
        """Attach to the main process (``POST /containers/{id}/attach``, in
        Docker's and libpod's API alike); stdin only if the container keeps
        it open, and the stream's framing follows the container's tty."""
        info = await self.endpoint.call("GET", f"/containers/{container_id}/json")
        state, config = info.get("State") or {}, info.get("Config") or {}
        if not state.get("Running"):
            raise RuntimeFailure(f"container {container_id} is not running", "ContainerNotRunning")
        query = {"stream": "true", "stdout": "true", "stderr": "true"}
        with_stdin = bool(stdin and config.get("OpenStdin"))
        query["stdin"] = str(with_stdin).lower()
        response = await self.endpoint.request(
            "POST", f"/containers/{container_id}/attach", query, upgrade=True
        )
        await _check_stream(response, "attach")
        session = EngineAttachSession(
            self.endpoint, container_id, response, bool(config.get("Tty"))
        )
        labels = config.get("Labels") or {}
        session.stdin_once = bool(config.get("StdinOnce")) or labels.get(LABEL_STDIN_ONCE) == "true"
        session.stdin = with_stdin
        return session

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        """Run ``command`` to its end; past ``timeout`` (if > 0) it is killed
        and ``RuntimeFailure`` with reason ``Timeout`` raised."""
        session = await self.exec(container_id, command, stdin=False, tty=False)
        out: dict[Stream, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}

        async def collect() -> None:
            async for stream, data in session.output():
                out[stream].extend(data)

        try:
            await (asyncio.wait_for(collect(), timeout) if timeout > 0 else collect())
        except TimeoutError:
            await session.kill()
            raise RuntimeFailure(f"command timed out after {timeout}s", "Timeout") from None
        finally:
            session.close()
        return ExecResult(await session.wait(), bytes(out["stdout"]), bytes(out["stderr"]))

    async def _create(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> str:
        if not command:
            raise RuntimeFailure("exec needs a command")
        body = {
            "Cmd": command,
            "AttachStdin": stdin,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": tty,
        }
        created = await self.endpoint.call("POST", f"/containers/{container_id}/exec", body=body)
        return str(created["Id"])


async def _check_stream(response: Response, what: str) -> None:
    if response.status >= 400:
        raw = b"".join([chunk async for chunk in body_chunks(response)])
        response.writer.close()
        check(response.status, raw, what)


class EngineExecSession:
    """An interactive exec over the hijacked HTTP connection."""

    def __init__(self, endpoint: Endpoint, exec_id: str, response: Response, tty: bool) -> None:
        self.endpoint, self.exec_id, self.tty = endpoint, exec_id, tty
        self._response = response

    async def write(self, data: bytes) -> None:
        self._response.writer.write(data)
        await self._response.writer.drain()

    async def close_stdin(self) -> None:
        # Half-close: the engine then closes the process's stdin.
        if self._response.writer.can_write_eof():
            self._response.writer.write_eof()

    async def output(self) -> AsyncIterator[tuple[Stream, bytes]]:
        try:
            async for item in demux(body_chunks(self._response), self.tty):
                yield item
        finally:
            # The stream ended (or its reader left): the hijacked connection
            # is ours to close, else every relayed exec leaks a socket.
            self.close()

    async def resize(self, width: int, height: int) -> None:
        await self.endpoint.call("POST", f"/exec/{self.exec_id}/resize", {"h": height, "w": width})

    async def wait(self) -> int:
        """The exit code, once the engine reports the process ended."""
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + EXIT_CODE_DEADLINE, 0.005
        while True:
            info = await self._inspect()
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            if loop.time() > deadline:
                raise RuntimeFailure(f"exec {self.exec_id} did not report an exit code")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)

    async def kill(self) -> None:
        """SIGKILL the exec'd process (the engine has no call for it; the
        engine runs on this host, so its pid is ours to signal)."""
        info = await self._inspect()
        pid = int(info.get("Pid") or 0)
        if pid > 0 and info.get("Running"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        self._response.writer.close()

    async def _inspect(self) -> dict[str, Any]:
        return dict(await self.endpoint.call("GET", f"/exec/{self.exec_id}/json"))


class EngineAttachSession(EngineExecSession):
    """An attach to a container's main process: the same hijacked stream
    as an exec; resizes go to the container, and it ends with the process."""

    stdin_once = False
    stdin = False  # attached to the process's stdin: only then does closing it mean anything

    async def close_stdin(self) -> None:
        """With ``stdinOnce`` the process's stdin ends (a half-close, which
        the engine passes on); without, the attach ends and the process
        keeps its stdin on Docker. Podman (4.3) has no StdinOnce: an attach
        that leaves always ends the process's stdin (its detach keys are
        not honoured without a tty)."""
        if not self.stdin:
            return
        self.stdin = False
        if self.stdin_once:
            await super().close_stdin()
            return
        self.close()

    async def resize(self, width: int, height: int) -> None:
        path = f"/containers/{self.exec_id}/resize"
        await self.endpoint.call("POST", path, {"h": height, "w": width})

    async def wait(self) -> int:
        """The container's exit code once it exited; 0 while it runs (the
        caller detached)."""
        info = await self.endpoint.call("GET", f"/containers/{self.exec_id}/json")
        state = info.get("State") or {}
        return 0 if state.get("Running") else int(state.get("ExitCode") or 0)

    async def kill(self) -> None:
        raise RuntimeFailure("an attached process is stopped with its container")
