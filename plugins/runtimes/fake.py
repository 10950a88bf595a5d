"""Built-in plugin: the fake runtime, containers simulated in memory.

For tests and hollow nodes: nothing runs, but every container goes through
created -> running -> exited as a real one would, so the agent's sync loop,
back-off, probes, status and streams are exercised for real.

A container's main process is its command (after the image's ENTRYPOINT and
CMD, as Docker makes it) run through the fake shell (``fake_shell``): the
container exits with its exit code when it ends (``sh -c "sleep 5; exit
1"``), and runs until stopped for ``sleep infinity`` or a command the shell
does not know (``httpd -f``). Pod annotations script a container instead (a
``.<container>`` suffix targets one container, e.g.
``fake.shoal.io/exit-code.sidecar``); with any of the first three set, the
command only writes the log:

``fake.shoal.io/exit-code``      the code it exits with (default 0)
``fake.shoal.io/run-seconds``    how long it runs before exiting (default: until
                                 stopped; with only an exit code set: 0)
``fake.shoal.io/log-every``      it logs ``tick N`` every this many seconds
``fake.shoal.io/start-error``    starting it fails with this message
``fake.shoal.io/start-latency``  seconds ``start_container`` takes
``fake.shoal.io/ignore-sigterm`` "true": it ignores SIGTERM, so stopping waits
                                 the whole grace period and kills it (137)
``fake.shoal.io/usage-cpu``      the CPU it uses while running ("250m"; ``fake_usage``)
``fake.shoal.io/usage-memory``   the memory it uses while running ("64Mi")

Exec understands the same shell; attach (``fake_attach``) sees the main
process's output and, for a bare ``sh`` made with ``stdin: true``, types
into it. Images are ``fake_images``: pulling
succeeds for any image except those under ``fake.invalid/``; ``load_image``
reads a ``docker save`` tarball. Pod IPs come from ``pod_cidr`` (``fake_ipam``:
freed when a sandbox stops);
port-forward connects to ``port_forward_host`` (loopback), where a test can
run the "pod's" server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from shoal import __version__, clock, hookimpl
from shoal.plugins.runtimes.fake_attach import FakeAttachSession, MainIO, reads_stdin
from shoal.plugins.runtimes.fake_exec import FakeExecSession
from shoal.plugins.runtimes.fake_images import FakeImages, new_id
from shoal.plugins.runtimes.fake_ipam import PodAddresses
from shoal.plugins.runtimes.fake_shell import FakeFS, Shell, forever
from shoal.plugins.runtimes.fake_usage import container_usage, node_usage
from shoal.registry import Registry
from shoal.runtime import (
    ContainerConfig,
    ContainerNotFound,
    ContainerStatus,
    ExecResult,
    ImageInfo,
    PodSandboxConfig,
    PodSandboxStatus,
    PullPolicy,
    ResourceUsage,
    RuntimeFailure,
)

PREFIX = "fake.shoal.io/"
# Annotations that script a container's life instead of its command.
_SCRIPTED = ("exit-code", "run-seconds", "log-every")
_new_id = new_id


@dataclass
class FakeContainer:
    status: ContainerStatus
    config: ContainerConfig
    sandbox: PodSandboxConfig
    fs: FakeFS
    log: list[tuple[float, bytes]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    main: MainIO = field(init=False)

    def __post_init__(self) -> None:
        self.main = MainIO(self.append)

    def behaviour(self, key: str) -> str | None:
        notes = self.sandbox.annotations
        return notes.get(f"{PREFIX}{key}.{self.config.name}", notes.get(PREFIX + key))

    def append(self, data: bytes) -> None:
        for line in data.splitlines(keepends=True):
            self.log.append((clock.time(), line))
        self._wake()

    def _wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class FakeRuntime:
    """A runtime with no engine behind it; cheap enough for hundreds per process."""

    name = "fake"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        self.start_latency = float(opts.get("start_latency", 0.0))
        self.pull_latency = float(opts.get("pull_latency", 0.0))
        self.port_forward_host = str(opts.get("port_forward_host", "127.0.0.1"))
        self._addresses = PodAddresses(opts.get("pod_cidr", "10.244.0.0/16"))
        self.images = FakeImages(opts.get("images", ()), self.pull_latency)
        self.sandboxes: dict[str, tuple[PodSandboxStatus, PodSandboxConfig]] = {}
        self.containers: dict[str, FakeContainer] = {}
        self._retired_cpu = 0  # CPU used by containers since removed (node_stats)

    async def version(self) -> str:
        return __version__

    async def close(self) -> None:
        for container in self.containers.values():
            _cancel(container)

    # -- images ---------------------------------------------------------------

    async def ensure_image(self, image: str, pull_policy: PullPolicy) -> str:
        return await self.images.ensure(image, pull_policy)

    async def list_images(self) -> list[ImageInfo]:
        return self.images.all()

    async def load_image(self, tar_path: str) -> list[str]:
        return self.images.load(tar_path)

    @property
    def pulls(self) -> int:
        return self.images.pulls

    # -- sandboxes ------------------------------------------------------------

    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        sandbox_id = _new_id("pod")
        address = self._addresses.allocate(sandbox_id)
        status = PodSandboxStatus(
            id=sandbox_id,
            name=config.name,
            namespace=config.namespace,
            uid=config.uid,
            state="ready",
            ip=address,
            created_at=clock.time(),
            attempt=config.attempt,
            labels=dict(config.labels),
        )
        self.sandboxes[sandbox_id] = (status, config)
        return sandbox_id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        status, _ = self._sandbox(sandbox_id)
        for container in self._in_sandbox(sandbox_id):
            self._exit(container, 137, "Error")
        status.state = "notready"
        self._addresses.release(sandbox_id)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        for container in self._in_sandbox(sandbox_id):
            await self.remove_container(container.status.id)
        self.sandboxes.pop(sandbox_id, None)
        self._addresses.release(sandbox_id)

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        return self._sandbox(sandbox_id)[0]

    async def list_pod_sandboxes(self) -> list[PodSandboxStatus]:
        return [status for status, _ in self.sandboxes.values()]

    def _sandbox(self, sandbox_id: str) -> tuple[PodSandboxStatus, PodSandboxConfig]:
        try:
            return self.sandboxes[sandbox_id]
        except KeyError:
            raise ContainerNotFound(f"pod sandbox {sandbox_id} not found") from None

    def _in_sandbox(self, sandbox_id: str) -> list[FakeContainer]:
        return [c for c in self.containers.values() if c.status.sandbox_id == sandbox_id]

    # -- containers -----------------------------------------------------------

    async def create_container(
        self, sandbox_id: str, config: ContainerConfig, sandbox: PodSandboxConfig
    ) -> str:
        status, sandbox_config = self._sandbox(sandbox_id)
        if status.state != "ready":
            raise RuntimeFailure(f"pod sandbox {sandbox_id} is not ready", "CreateContainerError")
        image = self.images.get(config.image)
        container_id = _new_id("ctr")
        self.containers[container_id] = FakeContainer(
            status=ContainerStatus(
                id=container_id,
                name=config.name,
                sandbox_id=sandbox_id,
                state="created",
                image=config.image,
                image_id=image.id if image else "",
                created_at=clock.time(),
                attempt=config.attempt,
                labels=dict(config.labels),
            ),
            config=config,
            sandbox=sandbox_config,
            fs=FakeFS(list(config.mounts)),
        )
        return container_id

    async def start_container(self, container_id: str) -> None:
        container = self._container(container_id)
        latency = container.behaviour("start-latency")
        delay = float(latency) if latency is not None else self.start_latency
        if delay:
            await asyncio.sleep(delay)
        error = container.behaviour("start-error")
        if error:
            self._exit(container, 128, "StartError", error)
            raise RuntimeFailure(error, "RunContainerError")
        container.status.state, container.status.started_at = "running", clock.time()
        argv, config = self.images.argv(container.config), container.config
        scripted = any(container.behaviour(key) is not None for key in _SCRIPTED)
        if not scripted and reads_stdin(argv, config.stdin):
            container.main.open_stdin(self._shell(container), argv, config.tty)
        container.tasks.append(asyncio.create_task(self._main(container)))
        # The main process runs until it first waits before start returns, as
        # a real one does during the engine's reply: a command that ends at
        # once (``echo ok``) has exited by the agent's next look, so its pod
        # goes from Pending to Succeeded as it does on Docker or Podman.
        await asyncio.sleep(0)

    async def _main(self, container: FakeContainer) -> None:
        """What the container does. Unless annotations say otherwise, its main
        process is its command (after the image's ENTRYPOINT/CMD), and the
        container exits when that does, with its exit code."""
        argv = self.images.argv(container.config)
        write = container.main.write
        if not any(container.behaviour(key) is not None for key in _SCRIPTED):
            if container.main.stdin is not None:
                code = await container.main.run_interactive()
                self._exit(container, code & 0xFF, "Completed" if code == 0 else "Error")
                return
            # No command at all (an image whose CMD we do not know): a server, say.
            main = self._shell(container, main=True)
            code = await main.run(argv, write) if argv else await forever()
            self._exit(container, code & 0xFF, "Completed" if code == 0 else "Error")
            return
        if argv:  # annotations decide the exit; the command only writes the log
            await self._shell(container).run(argv, write)
        exit_code = int(container.behaviour("exit-code") or 0)
        run = container.behaviour("run-seconds")
        if run is None and container.behaviour("exit-code") is None:
            await self._tick_forever(container)
            return
        await asyncio.sleep(float(run or 0))
        self._exit(container, exit_code, "Completed" if exit_code == 0 else "Error")

    async def _tick_forever(self, container: FakeContainer) -> None:
        every = container.behaviour("log-every")
        if every is None:
            return
        for n in itertools.count(1):
            await asyncio.sleep(float(every))
            container.main.write("stdout", f"tick {n}\n".encode())

    async def stop_container(self, container_id: str, timeout: float) -> None:
        container = self._container(container_id)
        if container.status.state != "running":
            return
        if container.behaviour("ignore-sigterm") == "true":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(container.changed.wait(), max(timeout, 0))
            self._exit(container, 137, "Error")
        else:
            self._exit(container, 143, "Error")

    async def remove_container(self, container_id: str) -> None:
        container = self.containers.pop(container_id, None)
        if container is not None:
            self._retired_cpu += container_usage(container).cpu_usage_core_nanoseconds
            _cancel(container)
            container.main.ended()
            container._wake()

    async def container_status(self, container_id: str) -> ContainerStatus:
        return self._container(container_id).status

    async def list_containers(self, sandbox_id: str = "") -> list[ContainerStatus]:
        return [
            c.status
            for c in self.containers.values()
            if not sandbox_id or c.status.sandbox_id == sandbox_id
        ]

    async def container_stats(self, container_id: str) -> ResourceUsage:
        return container_usage(self._container(container_id))

    async def node_stats(self) -> ResourceUsage:
        return node_usage(list(self.containers.values()), self._retired_cpu)

    def _container(self, container_id: str) -> FakeContainer:
        try:
            return self.containers[container_id]
        except KeyError:
            raise ContainerNotFound(f"container {container_id} not found") from None

    def _exit(self, container: FakeContainer, code: int, reason: str, message: str = "") -> None:
        if container.status.state == "exited":
            return
        s = container.status
        s.state, s.exit_code, s.reason, s.message = "exited", code, reason, message
        s.finished_at = clock.time()
        _cancel(container)
        container.main.ended()
        container._wake()

    # -- streams --------------------------------------------------------------

    async def logs(
        self, container_id: str, *, follow: bool = False, tail: int = -1, timestamps: bool = False
    ) -> AsyncIterator[bytes]:
        container = self._container(container_id)
        sent = max(len(container.log) - tail, 0) if tail >= 0 else 0
        while True:
            changed = container.changed
            for stamp, line in container.log[sent:]:
                yield (_rfc3339(stamp) + " ").encode() + line if timestamps else line
            sent = len(container.log)
            gone = container_id not in self.containers
            if not follow or container.status.state == "exited" or gone:
                return
            await changed.wait()

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        container = self._running(container_id)
        out: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        run = self._shell(container).run(command, lambda s, d: out[s].extend(d))
        try:
            code = await asyncio.wait_for(run, timeout) if timeout > 0 else await run
        except TimeoutError:
            raise RuntimeFailure(f"command timed out after {timeout}s", "Timeout") from None
        return ExecResult(code, bytes(out["stdout"]), bytes(out["stderr"]))

    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> FakeExecSession:
        container = self._running(container_id)
        return FakeExecSession(self._shell(container), command, stdin=stdin, tty=tty)

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> FakeAttachSession:
        container = self._running(container_id)
        status, once = container.status, container.config.stdin_once
        return FakeAttachSession(
            container.main, stdin=stdin, stdin_once=once, exit_code=lambda: status.exit_code
        )

    async def port_forward(
        self, sandbox_id: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self._sandbox(sandbox_id)
        return await asyncio.open_connection(self.port_forward_host, port)

    def _running(self, container_id: str) -> FakeContainer:
        container = self._container(container_id)
        if container.status.state != "running":
            raise RuntimeFailure(f"container {container_id} is not running", "ContainerNotRunning")
        return container

    def _shell(self, container: FakeContainer, main: bool = False) -> Shell:
        hostname = container.sandbox.hostname or container.sandbox.name
        env = dict(container.config.env)
        return Shell(container.fs, env, hostname, main=main, stdin_open=container.config.stdin)


def _rfc3339(stamp: float) -> str:
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp))
    return f"{whole}.{int(stamp % 1 * 1e9):09d}Z"


def _cancel(container: FakeContainer) -> None:
    current = asyncio.current_task() if _loop_running() else None
    for task in container.tasks:
        if task is not current:
            task.cancel()
    container.tasks.clear()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def fake_runtime(options: dict[str, Any]) -> FakeRuntime:
    return FakeRuntime(options)


@hookimpl
def register_runtimes(registry: Registry[Any]) -> None:
    registry.register("fake", fake_runtime)
