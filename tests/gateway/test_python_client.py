"""The official ``kubernetes`` Python client against the gateway: list,
create, read, patch, watch and delete, as a script written for Kubernetes
would. The client is synchronous, so it runs in a worker thread while the
server serves on the test's loop."""

from __future__ import annotations

import asyncio
from typing import Any

from shoal.api.v1 import core_pb2

from tests.gateway.conftest import GatewayCluster, GatewayServer
from tests.gateway.test_tutorial import _running_pod, app_port
from tests.requirements import require_module

kubernetes = require_module("kubernetes")
__all__ = ["app_port"]  # the fixture, from the tutorial tests


def _api(url: str) -> Any:
    configuration = kubernetes.client.Configuration()
    configuration.host = url
    return kubernetes.client.ApiClient(configuration)


def _body() -> Any:
    m = kubernetes.client
    container = m.V1Container(
        name="main", image="nginx", ports=[m.V1ContainerPort(container_port=80)]
    )
    return m.V1Pod(
        metadata=m.V1ObjectMeta(name="py", labels={"app": "py"}),
        spec=m.V1PodSpec(containers=[container]),
    )


def _create_list_read(url: str) -> tuple[Any, Any, Any]:
    with _api(url) as api:
        core = kubernetes.client.CoreV1Api(api)
        created = core.create_namespaced_pod("default", _body())
        listed = core.list_namespaced_pod("default", label_selector="app=py")
        read = core.read_namespaced_pod("py", "default")
        return created, listed, read


async def test_create_list_read(gateway_server: GatewayServer) -> None:
    created, listed, read = await asyncio.to_thread(_create_list_read, gateway_server.url)
    assert created.metadata.uid and created.spec.containers[0].ports[0].container_port == 80
    assert [p.metadata.name for p in listed.items] == ["py"]
    assert read.metadata.resource_version == created.metadata.resource_version


def _watch(url: str, version: str, count: int) -> list[tuple[str, str]]:
    with _api(url) as api:
        core = kubernetes.client.CoreV1Api(api)
        stream = kubernetes.watch.Watch().stream(
            core.list_namespaced_config_map, "default",
            resource_version=version, timeout_seconds=10,
        )  # fmt: skip
        seen = []
        for event in stream:
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == count:
                break
        return seen


def _make_and_change(url: str) -> None:
    m = kubernetes.client
    with _api(url) as api:
        core = m.CoreV1Api(api)
        core.create_namespaced_config_map(
            "default", m.V1ConfigMap(metadata=m.V1ObjectMeta(name="w"))
        )
        core.patch_namespaced_config_map("w", "default", {"data": {"k": "v"}})
        core.delete_namespaced_config_map("w", "default")


async def test_watch(gateway_server: GatewayServer) -> None:
    listed = await gateway_server.client.list("ConfigMap", "default")
    watcher = asyncio.create_task(
        asyncio.to_thread(_watch, gateway_server.url, listed.resource_version, 3)
    )
    await asyncio.to_thread(_make_and_change, gateway_server.url)
    seen = await asyncio.wait_for(watcher, 20)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def _errors(url: str) -> tuple[int, str]:
    with _api(url) as api:
        core = kubernetes.client.CoreV1Api(api)
        try:
            core.read_namespaced_pod("missing", "default")
        except kubernetes.client.ApiException as err:
            return err.status, err.reason
    raise AssertionError("no error")


async def test_not_found_is_an_api_exception(gateway_server: GatewayServer) -> None:
    status, reason = await asyncio.to_thread(_errors, gateway_server.url)
    assert (status, reason) == (404, "Not Found")


def _pod_with_agent_status(name: str) -> Any:
    """A pod as the agent reports a container that just started: Kubernetes
    writes restartCount 0 and ready false, the client requires them."""
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace = name, "default"
    pod.metadata.labels["app"] = "agent"
    pod.spec.containers.add(name="main", image="nginx")
    return pod


def _read_list_watch(url: str, version: str) -> tuple[Any, Any, list[Any]]:
    with _api(url) as api:
        core = kubernetes.client.CoreV1Api(api)
        read = core.read_namespaced_pod("agent", "default")
        listed = core.list_namespaced_pod("default", label_selector="app=agent")
        stream = kubernetes.watch.Watch().stream(
            core.list_namespaced_pod, "default",
            resource_version=version, timeout_seconds=10,
        )  # fmt: skip
        watched = []
        for event in stream:
            watched.append(event["object"])
            if event["type"] == "MODIFIED":
                break
        return read, listed, watched


async def test_pod_status_with_zero_values_deserializes(gateway_server: GatewayServer) -> None:
    client = gateway_server.client
    before = await client.list("Pod", "default")
    created = await client.create(_pod_with_agent_status("agent"))
    created.status.phase = "Running"
    status = created.status.container_statuses.add(name="main", image="nginx")
    status.state.running.started_at.GetCurrentTime()
    status.started = True  # ready false, restartCount 0, imageID "": all zero
    await client.update_status(created)
    read, listed, watched = await asyncio.to_thread(
        _read_list_watch, gateway_server.url, before.resource_version
    )
    for pod in (read, listed.items[0], watched[-1]):
        container = pod.status.container_statuses[0]
        assert (container.restart_count, container.ready, container.image_id) == (0, False, "")
    assert [p.metadata.name for p in watched] == ["agent", "agent"]


def _exec_and_port_forward(url: str, port: int) -> tuple[str, bytes]:
    """What a script written for Kubernetes does with ``kubernetes.stream``:
    exec (the client writes stdin as TEXT frames) and port-forward."""
    from kubernetes.stream import portforward, stream

    with _api(url) as api:
        core = kubernetes.client.CoreV1Api(api)
        said = stream(
            core.connect_get_namespaced_pod_exec, "app", "default",
            command=["sh", "-c", "echo hi there"],
            stderr=True, stdin=False, stdout=True, tty=False,
        )  # fmt: skip
        forward = portforward(
            core.connect_get_namespaced_pod_portforward, "app", "default", ports=str(port)
        )
        try:
            sock = forward.socket(port)
            sock.setblocking(True)
            sock.sendall(b"GET /py HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            received = b""
            while chunk := sock.recv(4096):
                received += chunk
            sock.close()
        finally:
            forward.close()
        return said, received


async def test_exec_and_port_forward(gateway_cluster: GatewayCluster, app_port: int) -> None:
    await _running_pod(gateway_cluster, "app", app_port)
    said, received = await asyncio.to_thread(_exec_and_port_forward, gateway_cluster.url, app_port)
    assert said == "hi there\n"
    assert received.startswith(b"HTTP/1.1 200") and b"hello from GET /py" in received
