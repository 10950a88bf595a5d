"""The few commands a fake container understands, for exec, exec probes and
the output a container writes when it starts.

Enough of a shell for the tutorials' checks: ``cat /tmp/healthy``,
``touch``/``rm``, ``echo $VAR``, ``env``, ``hostname``, ``ls``, ``sleep``,
``exit N``, ``true``/``false``, ``stty size``, ``cmd >&2`` and ``sh -c "a; b && c"``.
Files live in memory per container, except under a volume mount, where the
host file the agent wrote is read and written.

The same shell runs a container's main process (``main=True``): its exit
code is the container's, and a command it does not know (``httpd -f``,
``nginx``, ``python app.py``), ``sleep infinity`` or a bare ``sh`` with stdin
open run until the container is stopped, as a server would. Sleeping is an
event-loop timer, so a ``sleep 3600`` costs no thread.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from shoal.runtime import Mount

Write = Callable[[Literal["stdout", "stderr"], bytes], None]
_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_SHELLS = ("sh", "ash", "bash", "dash")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


async def forever() -> int:
    """A process that never ends by itself (cancelled when stopped)."""
    await asyncio.get_running_loop().create_future()
    raise AssertionError("unreachable")


def sleep_seconds(word: str) -> float:
    """busybox ``sleep``'s argument: ``5``, ``0.5``, ``2m``, ``infinity``."""
    if word in ("inf", "infinity"):
        return float("inf")
    unit = _SECONDS.get(word[-1:], 0)
    return float(word[:-1]) * unit if unit else float(word)


@dataclass
class FakeFS:
    """A container's files: in memory, or on the host under a mount."""

    mounts: list[Mount] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def _host(self, path: str) -> str | None:
        for m in sorted(self.mounts, key=lambda m: -len(m.container_path)):
            root = m.container_path.rstrip("/")
            if path == root or path.startswith(root + "/"):
                return m.host_path + path[len(root) :]
        return None

    def read(self, path: str) -> bytes | None:
        host = self._host(path)
        if host is None:
            return self.files.get(path)
        try:
            with open(host, "rb") as f:
                return f.read()
        except OSError:
            return None

    def write(self, path: str, data: bytes) -> None:
        host = self._host(path)
        if host is None:
            self.files[path] = data
            return
        with open(host, "wb") as f:
            f.write(data)

    def remove(self, path: str) -> bool:
        host = self._host(path)
        if host is None:
            return self.files.pop(path, None) is not None
        try:
            os.remove(host)
        except OSError:
            return False
        return True

    def listdir(self, path: str) -> list[str] | None:
        host = self._host(path)
        if host is not None:
            try:
                return sorted(n for n in os.listdir(host) if not n.startswith(".."))
            except OSError:
                return None
        prefix = path.rstrip("/") + "/"
        names = {p[len(prefix) :].split("/")[0] for p in self.files if p.startswith(prefix)}
        return sorted(names) if names else None


@dataclass
class Shell:
    """One exec's view of a container."""

    fs: FakeFS
    env: dict[str, str]
    hostname: str
    size: tuple[int, int] = (24, 80)  # rows, cols
    main: bool = False  # the container's main process (see the module's doc)
    stdin_open: bool = False  # the container's stdin is attached (``stdin: true``)
    exited: bool = False  # a script ran ``exit``: an interactive shell ends
    last_code: int = 0  # ``$?``, what a bare ``exit`` on a later line returns

    async def run(self, argv: list[str], write: Write, stdin: bytes = b"") -> int:
        """Run one command line (argv as exec receives it); the exit code."""
        if argv and os.path.basename(argv[0]) in _SHELLS:
            if argv[1:2] == ["-c"] and len(argv) > 2:
                return await self.script(argv[2], write)
            if self.main:  # an interactive shell: waits on its stdin, if it has one
                return await forever() if self.stdin_open else 0
        return await self._command(argv, write, stdin)

    async def script(self, text: str, write: Write) -> int:
        self.last_code = await self._script(text, write)
        return self.last_code

    async def _script(self, text: str, write: Write) -> int:
        code = self.last_code
        for line in re.split(r"[;\n]", text):
            for part in line.split("&&"):
                try:
                    words = shlex.split(self._expand(part))
                except ValueError:
                    write("stderr", b"sh: syntax error: unterminated quoted string\n")
                    return 2
                if words[:1] == ["exec"]:
                    words = words[1:]
                if not words:
                    continue
                if words[0] == "exit":
                    self.exited = True
                    return _exit_code(words[1:], code, write)
                words, out = _redirect(words, write)
                code = await self._command(words, out, b"")
                if code != 0:
                    break
        return code

    def _expand(self, text: str) -> str:
        return _VAR.sub(lambda m: self.env.get(m.group(1) or m.group(2), ""), text)

    async def _command(self, argv: list[str], write: Write, stdin: bytes) -> int:
        name, args = os.path.basename(argv[0]), argv[1:]
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None and self.main:
            return await forever()
        if handler is None:
            write("stderr", f"sh: {argv[0]}: not found\n".encode())
            return 127
        result: int = await handler(args, write, stdin)
        return result

    async def _cmd_echo(self, args: list[str], write: Write, stdin: bytes) -> int:
        newline = args[:1] != ["-n"]
        words = args[1:] if not newline else args
        write("stdout", (" ".join(words) + ("\n" if newline else "")).encode())
        return 0

    async def _cmd_cat(self, args: list[str], write: Write, stdin: bytes) -> int:
        if not args:
            write("stdout", stdin)
            return 0
        code = 0
        for path in args:
            data = self.fs.read(path)
            if data is None:
                write("stderr", f"cat: can't open '{path}': No such file or directory\n".encode())
                code = 1
            else:
                write("stdout", data)
        return code

    async def _cmd_touch(self, args: list[str], write: Write, stdin: bytes) -> int:
        for path in args:
            if self.fs.read(path) is None:
                self.fs.write(path, b"")
        return 0

    async def _cmd_rm(self, args: list[str], write: Write, stdin: bytes) -> int:
        force = "-f" in args
        code = 0
        for path in (a for a in args if not a.startswith("-")):
            if not self.fs.remove(path) and not force:
                write("stderr", f"rm: can't remove '{path}': No such file or directory\n".encode())
                code = 1
        return code

    async def _cmd_ls(self, args: list[str], write: Write, stdin: bytes) -> int:
        path = args[-1] if args else "/"
        names = self.fs.listdir(path)
        if names is None:
            write("stderr", f"ls: {path}: No such file or directory\n".encode())
            return 1
        write("stdout", "".join(n + "\n" for n in names).encode())
        return 0

    async def _cmd_env(self, args: list[str], write: Write, stdin: bytes) -> int:
        write("stdout", "".join(f"{k}={v}\n" for k, v in sorted(self.env.items())).encode())
        return 0

    async def _cmd_hostname(self, args: list[str], write: Write, stdin: bytes) -> int:
        write("stdout", f"{self.hostname}\n".encode())
        return 0

    async def _cmd_sleep(self, args: list[str], write: Write, stdin: bytes) -> int:
        try:
            seconds = sum(sleep_seconds(a) for a in args)
        except ValueError:
            write("stderr", f"sleep: invalid number '{' '.join(args)}'\n".encode())
            return 1
        if seconds == float("inf"):
            return await forever()
        await asyncio.sleep(seconds)
        return 0

    async def _cmd_stty(self, args: list[str], write: Write, stdin: bytes) -> int:
        write("stdout", f"{self.size[0]} {self.size[1]}\n".encode())
        return 0

    async def _cmd_true(self, args: list[str], write: Write, stdin: bytes) -> int:
        return 0

    async def _cmd_false(self, args: list[str], write: Write, stdin: bytes) -> int:
        return 1

    async def _cmd_exit(self, args: list[str], write: Write, stdin: bytes) -> int:
        return _exit_code(args, 0, write)


def _redirect(words: list[str], write: Write) -> tuple[list[str], Write]:
    """``cmd >&2`` (or ``1>&2``): the command's stdout goes to stderr."""
    if words[-1:] not in (["1>&2"], [">&2"]) or len(words) < 2:
        return words, write
    return words[:-1], lambda _stream, data: write("stderr", data)


def _exit_code(args: list[str], last: int, write: Write) -> int:
    """``exit [N]``: N modulo 256, or the last command's code."""
    if not args:
        return last
    try:
        return int(args[0]) & 0xFF
    except ValueError:
        write("stderr", f"sh: exit: Illegal number: {args[0]}\n".encode())
        return 2
