"""The official ``kubernetes`` Python client against the gateway: list,
create, read, patch, watch and delete, as a script written for Kubernetes
would. The client is synchronous, so it runs in a worker thread while the
server serves on the test's loop."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.gateway.conftest import GatewayServer
from tests.requirements import require_module

kubernetes = require_module("kubernetes")


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
