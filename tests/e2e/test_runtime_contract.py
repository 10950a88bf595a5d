"""The runtime contract (``shoal.testing.RuntimeContract``) against real
Docker and Podman, exactly as a third-party runtime runs it, plus the checks
only these engines can answer (container names, inspect, OOM)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from shoal.plugins.runtimes.images import BUSYBOX_IMAGE
from shoal.runtime import ContainerConfig, PodSandboxConfig
from shoal.testing import RuntimeContract
from shoal.testing.runtime_contract import eventually

from tests.e2e.engines import (
    inspect,
    make_runtime,
    node_objects,
    remove_node_objects,
    require_engine,
    sandbox_config,
)

pytestmark = pytest.mark.e2e

SLEEP = ["sh", "-c", "sleep 3600"]


class EngineContract(RuntimeContract):
    engine = ""
    image = BUSYBOX_IMAGE

    @pytest.fixture
    async def runtime(self, node_name: str) -> AsyncIterator[Any]:
        require_engine(self.engine)
        runtime = make_runtime(self.engine, node_name)
        try:
            yield runtime
        finally:
            await runtime.close()
            remove_node_objects(self.engine, node_name)

    def new_runtime(self, node_name: str) -> Any:
        return make_runtime(self.engine, node_name)


class TestDockerRuntime(EngineContract):
    engine = "docker"


class TestPodmanRuntime(EngineContract):
    engine = "podman"
    stdin_outlives_attach = False


# -- what only the engines can say ----------------------------------------------


def busybox(name: str, command: str, **kwargs: Any) -> ContainerConfig:
    return ContainerConfig(name=name, image=BUSYBOX_IMAGE, command=["sh", "-c", command], **kwargs)


async def run(runtime: Any, sandbox_id: str, sandbox: PodSandboxConfig, c: ContainerConfig) -> str:
    container_id = await runtime.create_container(sandbox_id, c, sandbox)
    await runtime.start_container(container_id)
    return str(container_id)


async def pod(runtime: Any, **kwargs: Any) -> tuple[str, PodSandboxConfig]:
    config = sandbox_config(**kwargs)
    return await runtime.run_pod_sandbox(config), config


async def test_names_follow_the_kubelet_scheme(runtime: Any, engine: str) -> None:
    sandbox_id, sandbox = await pod(runtime)
    first = await run(runtime, sandbox_id, sandbox, busybox("app", "exit 1"))
    await RuntimeContract.exited(runtime, first)
    second = await run(runtime, sandbox_id, sandbox, busybox("app", "sleep 3600", attempt=1))
    names = {inspect(engine, c)["Name"].lstrip("/") for c in (first, second)}
    assert names == {f"k8s_app_web_e2e_{sandbox.uid}_0", f"k8s_app_web_e2e_{sandbox.uid}_1"}
    assert f"k8s_POD_web_e2e_{sandbox.uid}_0" in node_objects(engine, runtime.node)


async def test_limits_are_visible_in_inspect(runtime: Any, engine: str) -> None:
    sandbox_id, sandbox = await pod(runtime)
    config = ContainerConfig("limited", BUSYBOX_IMAGE, SLEEP, cpu_millis=250, memory_bytes=64 << 20)
    host = inspect(engine, await run(runtime, sandbox_id, sandbox, config))["HostConfig"]
    assert host["Memory"] == 64 << 20
    nano = host.get("NanoCpus") or host["CpuQuota"] * 1_000_000_000 // host["CpuPeriod"]
    assert nano == 250_000_000


async def test_out_of_memory_is_oomkilled(runtime: Any, engine: str) -> None:
    sandbox_id, sandbox = await pod(runtime)
    hog = busybox("hog", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}")
    hog.memory_bytes = 16 << 20
    hog_id = await run(runtime, sandbox_id, sandbox, hog)
    oom = await RuntimeContract.exited(runtime, hog_id, 60)
    assert oom.exit_code == 137

    async def oom_recorded() -> Any:
        # Docker sets OOMKilled when containerd's OOM event arrives, which
        # can be after the exit it reports: wait for the engine to settle
        # (the agent reads the status again on its next sync).
        status = await runtime.container_status(hog_id)
        return status if status.reason == "OOMKilled" else None

    if engine == "docker":
        oom = await eventually(oom_recorded, 30)
    if engine == "podman" and oom.reason == "Error":
        # Measured: conmon 2.1.6 sees the OOM kill and touches "oom" in its own
        # working directory, the service's, as Podman 4.3 passes it no
        # --persist-dir; Podman reads <bundle>/oom, finds none, and inspect says
        # State.OOMKilled false, ExitCode 137. Where the service runs changes
        # nothing. Docker reports OOMKilled; docs/runtimes.md.
        pytest.xfail(
            "Podman 4.3.1 + conmon 2.1.6 + runc on cgroup v1: inspect reports OOMKilled false "
            "(exit 137) because conmon writes its oom marker into the service's working "
            "directory, not the bundle dir Podman 4.3 reads"
        )
    assert oom.reason == "OOMKilled"


async def test_removing_the_sandbox_leaves_nothing_on_the_engine(runtime: Any, engine: str) -> None:
    sandbox_id, sandbox = await pod(runtime)
    await run(runtime, sandbox_id, sandbox, ContainerConfig("c", BUSYBOX_IMAGE, SLEEP))
    await runtime.stop_pod_sandbox(sandbox_id)
    await runtime.remove_pod_sandbox(sandbox_id)
    assert node_objects(engine, runtime.node) == []
