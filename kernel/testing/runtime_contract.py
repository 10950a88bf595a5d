"""The runtime contract suite: what the agent relies on from any runtime
(:class:`shoal.runtime.Runtime`), as tests a runtime plugin runs with one
import::

    import pytest
    from shoal.testing import RuntimeContract

    class TestMyRuntime(RuntimeContract):
        @pytest.fixture
        async def runtime(self, node_name):
            runtime = MyRuntime({"node_name": node_name})
            yield runtime
            await runtime.close()

        def new_runtime(self, node_name):  # for the adoption test
            return MyRuntime({"node_name": node_name})

The suite's containers use ``image`` (busybox by default, which must be
present: ``ensure_image(image, "Never")``). A runtime that does not run real
processes (the fake) sets ``real_processes = False`` and skips the checks
that need a real shell, network, signals or cgroups; one whose instances do
not share state sets ``adopts = False``. Engine-specific checks (container
names, inspect output) belong beside the engine, not here.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, ClassVar

import pytest
from shoal.runtime import (
    ContainerConfig,
    ContainerNotFound,
    ContainerStatus,
    ImageError,
    PodSandboxConfig,
    RuntimeFailure,
)
from shoal.testing.attach_contract import AttachContract

BUSYBOX = "busybox:1.36"
SERVE = "mkdir -p /www && echo pod-local > /www/index.html && exec httpd -f -p 8080 -h /www"
SLEEP = ["sh", "-c", "sleep 3600"]


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def sandbox_config(**kwargs: Any) -> PodSandboxConfig:
    defaults: dict[str, Any] = {"name": "web", "namespace": "e2e", "uid": uuid.uuid4().hex}
    return PodSandboxConfig(**{**defaults, **kwargs})


class RuntimeContract(AttachContract):
    """Subclass with a ``runtime`` fixture (see the module docstring)."""

    image: ClassVar[str] = BUSYBOX
    real_processes: ClassVar[bool] = True
    adopts: ClassVar[bool] = True

    @pytest.fixture
    def node_name(self) -> str:
        return f"contract-{uuid.uuid4().hex[:10]}"

    def new_runtime(self, node_name: str) -> Any:
        """Another instance on ``node_name`` (as after an agent restart)."""
        raise NotImplementedError("override new_runtime(node_name) or set adopts = False")

    def _need_processes(self) -> None:
        if not self.real_processes:
            pytest.skip("needs a runtime that runs real processes")

    # -- helpers -------------------------------------------------------------------

    def busybox(self, name: str, *argv: str, **kwargs: Any) -> ContainerConfig:
        command = ["sh", "-c", argv[0]] if len(argv) == 1 else list(argv)
        return ContainerConfig(name=name, image=self.image, command=command, **kwargs)

    async def pod(self, runtime: Any, **kwargs: Any) -> tuple[str, PodSandboxConfig]:
        config = sandbox_config(**kwargs)
        return await runtime.run_pod_sandbox(config), config

    @staticmethod
    async def run(
        runtime: Any, sandbox_id: str, sandbox: PodSandboxConfig, c: ContainerConfig
    ) -> str:
        container_id = await runtime.create_container(sandbox_id, c, sandbox)
        await runtime.start_container(container_id)
        return str(container_id)

    @staticmethod
    async def exited(runtime: Any, container_id: str, timeout: float = 20.0) -> ContainerStatus:
        async def check() -> ContainerStatus | None:
            status = await runtime.container_status(container_id)
            return status if status.state == "exited" else None

        return await eventually(check, timeout)  # type: ignore[no-any-return]

    @staticmethod
    async def logs_of(runtime: Any, container_id: str, **kwargs: Any) -> bytes:
        return b"".join([chunk async for chunk in runtime.logs(container_id, **kwargs)])

    # -- sandboxes and containers ------------------------------------------------

    async def test_sandbox_status_and_listing(self, runtime: Any) -> None:
        sandbox_id, sandbox = await self.pod(runtime, labels={"app": "shop"})
        status = await runtime.pod_sandbox_status(sandbox_id)
        assert (status.state, status.name, status.namespace, status.uid) == (
            "ready",
            "web",
            "e2e",
            sandbox.uid,
        )
        assert status.ip and status.labels["app"] == "shop"
        assert [s.id for s in await runtime.list_pod_sandboxes()] == [sandbox_id]

    async def test_containers_of_a_pod_share_localhost(self, runtime: Any) -> None:
        self._need_processes()
        sandbox_id, sandbox = await self.pod(runtime)
        await self.run(runtime, sandbox_id, sandbox, self.busybox("server", SERVE))
        client = await self.run(
            runtime, sandbox_id, sandbox, ContainerConfig("client", self.image, SLEEP)
        )

        async def fetched() -> bytes:
            result = await runtime.exec_sync(
                client, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], 5
            )
            return result.stdout if result.exit_code == 0 else b""  # type: ignore[no-any-return]

        assert await eventually(fetched, 20, interval=0.1) == b"pod-local\n"

    async def test_command_args_and_env(self, runtime: Any) -> None:
        sandbox_id, sandbox = await self.pod(runtime)
        both = self.busybox("both", "sh", "-c", env={"GREETING": "hello"})
        both.args = ['echo "$GREETING there"']
        command_only = ContainerConfig("cmd", self.image, command=["echo", "cmd-only"])
        expected = {"both": b"hello there\n", "cmd": b"cmd-only\n"}
        for config in (both, command_only):
            container_id = await self.run(runtime, sandbox_id, sandbox, config)
            assert (await self.exited(runtime, container_id)).exit_code == 0
            assert await self.logs_of(runtime, container_id) == expected[config.name]

    async def test_args_alone_replace_the_images_cmd_and_working_dir_applies(
        self, runtime: Any
    ) -> None:
        self._need_processes()
        sandbox_id, sandbox = await self.pod(runtime)
        args_only = ContainerConfig("args", self.image, args=["echo", "only-args"])
        where = self.busybox("where", "pwd", working_dir="/tmp")
        for config, out in ((args_only, b"only-args\n"), (where, b"/tmp\n")):
            container_id = await self.run(runtime, sandbox_id, sandbox, config)
            assert (await self.exited(runtime, container_id)).exit_code == 0
            assert await self.logs_of(runtime, container_id) == out

    async def test_logs_tail_and_timestamps(self, runtime: Any) -> None:
        sandbox_id, sandbox = await self.pod(runtime)
        lines = await self.run(
            runtime, sandbox_id, sandbox, self.busybox("lines", "echo 1; echo 2; echo 3")
        )
        await self.exited(runtime, lines)
        assert await self.logs_of(runtime, lines) == b"1\n2\n3\n"
        assert await self.logs_of(runtime, lines, tail=2) == b"2\n3\n"
        stamped = await self.logs_of(runtime, lines, tail=1, timestamps=True)
        assert stamped.endswith(b" 3\n") and stamped[:2] == b"20"

    async def test_logs_follow(self, runtime: Any) -> None:
        self._need_processes()
        sandbox_id, sandbox = await self.pod(runtime)
        ticker = self.busybox("ticker", "i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.1; done")
        ticker_id = await self.run(runtime, sandbox_id, sandbox, ticker)
        stream = runtime.logs(ticker_id, follow=True)
        seen = b""
        while b"tick3\n" not in seen:
            seen += await asyncio.wait_for(anext(stream), 10)
        await stream.aclose()
        assert seen.startswith(b"tick1\ntick2\n")

    async def test_exec_sync_exit_codes_output_and_timeout(self, runtime: Any) -> None:
        sandbox_id, sandbox = await self.pod(runtime)
        container_id = await self.run(
            runtime, sandbox_id, sandbox, ContainerConfig("c", self.image, SLEEP)
        )
        result = await runtime.exec_sync(
            container_id, ["sh", "-c", "echo out; echo err >&2; exit 3"], 5
        )
        assert (result.exit_code, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
        assert (await runtime.exec_sync(container_id, ["true"], 5)).exit_code == 0
        with pytest.raises(RuntimeFailure) as failure:
            await runtime.exec_sync(container_id, ["sleep", "30"], 0.5)
        assert failure.value.reason == "Timeout"
        await runtime.stop_container(container_id, 0)
        with pytest.raises(RuntimeFailure):
            await runtime.exec_sync(container_id, ["true"], 5)

    async def test_interactive_exec_with_stdin_and_tty(self, runtime: Any) -> None:
        self._need_processes()
        sandbox_id, sandbox = await self.pod(runtime)
        container_id = await self.run(
            runtime, sandbox_id, sandbox, ContainerConfig("c", self.image, SLEEP)
        )
        session = await runtime.exec(
            container_id, ["sh", "-c", "cat; echo bye >&2"], stdin=True, tty=False
        )
        await session.write(b"through stdin\n")
        await session.close_stdin()
        out = [chunk async for chunk in session.output()]
        assert ("stdout", b"through stdin\n") in out and ("stderr", b"bye\n") in out
        assert await session.wait() == 0

        tty = await runtime.exec(container_id, ["sh"], stdin=True, tty=True)
        await tty.resize(100, 40)
        await tty.write(b"stty size; exit 5\n")
        text = b"".join([chunk async for _, chunk in tty.output()])
        assert b"40 100" in text
        assert await tty.wait() == 5

    async def test_stop_honours_the_grace_period(self, runtime: Any) -> None:
        self._need_processes()
        sandbox_id, sandbox = await self.pod(runtime)
        polite = self.busybox(
            "polite", 'trap "exit 0" TERM; echo ready; while :; do sleep 1 & wait; done'
        )
        stubborn = self.busybox("stubborn", 'trap "" TERM; echo ready; while :; do sleep 1; done')
        polite_id = await self.run(runtime, sandbox_id, sandbox, polite)
        stubborn_id = await self.run(runtime, sandbox_id, sandbox, stubborn)
        for container_id in (polite_id, stubborn_id):  # "ready": the trap is set
            await eventually(lambda c=container_id: self._has(runtime, c, b"ready\n"), 10)
        await runtime.stop_container(polite_id, 30)
        status = await runtime.container_status(polite_id)
        assert (status.state, status.exit_code, status.reason) == ("exited", 0, "Completed")
        asked = time.time()
        await runtime.stop_container(stubborn_id, 1)
        status = await runtime.container_status(stubborn_id)
        assert (status.state, status.exit_code, status.reason) == ("exited", 137, "Error")
        assert status.finished_at >= asked + 0.9  # it was given the grace period first

    async def _has(self, runtime: Any, container_id: str, text: bytes) -> bool:
        return text in await self.logs_of(runtime, container_id)

    async def test_exit_codes_and_reasons(self, runtime: Any) -> None:
        sandbox_id, sandbox = await self.pod(runtime)
        ok = await self.exited(
            runtime, await self.run(runtime, sandbox_id, sandbox, self.busybox("ok", "exit 0"))
        )
        assert (ok.exit_code, ok.reason, ok.attempt) == (0, "Completed", 0)
        assert ok.started_at and ok.finished_at >= ok.started_at >= ok.created_at > 0
        bad = await self.exited(
            runtime, await self.run(runtime, sandbox_id, sandbox, self.busybox("bad", "exit 7"))
        )
        assert (bad.exit_code, bad.reason) == (7, "Error")

    async def test_pull_policy_never_names_the_image(self, runtime: Any) -> None:
        with pytest.raises(ImageError) as failure:
            await runtime.ensure_image("shoal.local/absent:1", "Never")
        assert failure.value.reason == "ErrImageNeverPull"
        message = 'image "shoal.local/absent:1" not present and pull policy is Never'
        assert str(failure.value) == message
        image_id = await runtime.ensure_image(self.image, "IfNotPresent")
        assert image_id == await runtime.ensure_image(self.image, "Never")
        assert any(self.image in image.tags for image in await runtime.list_images())

    async def test_restart_creates_the_next_attempt(self, runtime: Any) -> None:
        sandbox_id, sandbox = await self.pod(runtime)
        first = await self.run(runtime, sandbox_id, sandbox, self.busybox("app", "exit 1"))
        await self.exited(runtime, first)
        second = await self.run(
            runtime, sandbox_id, sandbox, self.busybox("app", "exit 0", attempt=1)
        )
        status = await self.exited(runtime, second)
        assert status.attempt == 1 and status.name == "app"
        listed = await runtime.list_containers(sandbox_id)
        assert sorted(c.attempt for c in listed) == [0, 1]

    async def test_a_new_runtime_adopts_by_labels(self, runtime: Any, node_name: str) -> None:
        if not self.adopts:
            pytest.skip("this runtime's instances share no state")
        sandbox_id, sandbox = await self.pod(runtime, labels={"app": "shop"})
        container_id = await self.run(
            runtime, sandbox_id, sandbox, ContainerConfig("c", self.image, SLEEP)
        )
        again = self.new_runtime(node_name)
        stranger = self.new_runtime(node_name + "-other")
        try:
            [found] = await again.list_pod_sandboxes()
            assert (found.id, found.uid, found.state) == (sandbox_id, sandbox.uid, "ready")
            assert found.labels["app"] == "shop"
            [container] = await again.list_containers()
            assert (container.id, container.sandbox_id, container.state) == (
                container_id,
                sandbox_id,
                "running",
            )
            assert await stranger.list_pod_sandboxes() == []
        finally:
            await again.close()
            await stranger.close()

    async def test_port_forward_reaches_the_pod(self, runtime: Any) -> None:
        self._need_processes()
        sandbox_id, sandbox = await self.pod(runtime)
        await self.run(runtime, sandbox_id, sandbox, self.busybox("server", SERVE))

        async def get() -> bytes:
            try:
                reader, writer = await runtime.port_forward(sandbox_id, 8080)
            except OSError:
                return b""
            writer.write(b"GET /index.html HTTP/1.0\r\n\r\n")
            body = await reader.read()
            writer.close()
            return body  # type: ignore[no-any-return]

        assert (await eventually(get, 20, interval=0.1)).endswith(b"\r\n\r\npod-local\n")

    async def test_removing_the_sandbox_leaves_nothing(self, runtime: Any) -> None:
        sandbox_id, sandbox = await self.pod(runtime)
        container_id = await self.run(
            runtime, sandbox_id, sandbox, ContainerConfig("c", self.image, SLEEP)
        )
        await runtime.stop_pod_sandbox(sandbox_id)
        assert (await runtime.pod_sandbox_status(sandbox_id)).state == "notready"
        assert (await runtime.container_status(container_id)).state == "exited"
        await runtime.remove_pod_sandbox(sandbox_id)
        await runtime.remove_pod_sandbox(sandbox_id)  # idempotent
        assert await runtime.list_pod_sandboxes() == []
        assert await runtime.list_containers() == []
        with pytest.raises(ContainerNotFound):
            await runtime.container_status(container_id)


__all__ = ["BUSYBOX", "RuntimeContract", "eventually", "sandbox_config"]
