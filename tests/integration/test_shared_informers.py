"""Shared informers: one informer per kind per process, each handler fed
through its own buffer, a reflector that survives every failure."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from shoal.client import Client, Informer, SharedInformerFactory, shared_informers
from shoal.controller import Controller
from shoal.controlplane import ControlPlane, ControlPlaneOptions
from shoal.manifest import from_dict
from shoal.registry import Registry

from tests.integration.helpers import eventually, pod


def test_one_informer_per_kind_namespace_and_selectors(shoal_client: Client) -> None:
    factory = SharedInformerFactory(shoal_client)
    pods = factory.for_kind("Pod")
    assert factory.for_kind("pods") is pods
    assert factory.for_kind("Pod", field_selector="spec.nodeName=a") is not pods
    assert factory.for_kind("Pod", "kube-system") is not pods
    assert factory.for_kind("Pod", label_selector="app=x") is not pods
    assert shared_informers(shoal_client) is shared_informers(shoal_client)


async def test_a_late_handler_gets_the_cache_as_adds_then_syncs(shoal_client: Client) -> None:
    await shoal_client.create(pod("a"))
    await shoal_client.create(pod("b"))
    informer = SharedInformerFactory(shoal_client).for_kind("Pod")
    first = informer.add_handler(on_add=lambda o: None)
    informer.start()
    try:
        await first.wait_for_sync(5)
        late: list[str] = []
        registration = informer.add_handler(on_add=lambda o: late.append(o.metadata.name))
        await registration.wait_for_sync(5)
        assert sorted(late) == ["a", "b"]
        await shoal_client.create(pod("c"))
        await eventually(lambda: "c" in late)
    finally:
        await informer.stop()


async def test_a_slow_handler_stalls_neither_the_watch_nor_other_handlers(
    shoal_client: Client,
) -> None:
    informer = Informer(shoal_client, "Pod")
    release = asyncio.Event()
    slow_seen: list[str] = []
    fast_seen: list[str] = []

    async def slow(obj: Any) -> None:
        slow_seen.append(obj.metadata.name)
        await release.wait()

    informer.add_handler(on_add=slow)
    informer.add_handler(on_add=lambda o: fast_seen.append(o.metadata.name))
    informer.start()
    try:
        await informer.wait_for_sync(5)
        for name in ("one", "two", "three"):
            await shoal_client.create(pod(name))
        await eventually(lambda: fast_seen == ["one", "two", "three"])
        assert informer.get("three", "default") is not None
        assert slow_seen == ["one"]  # still busy with the first
        release.set()
        await eventually(lambda: slow_seen == ["one", "two", "three"])
    finally:
        release.set()
        await informer.stop()


def _failing_once(method: Any, failures: list[int]) -> Any:
    """``method``, except that its first call raises an unexpected error."""
    if asyncio.iscoroutinefunction(method):

        async def call(*args: Any, **kwargs: Any) -> Any:
            failures.append(1)
            if len(failures) == 1:
                raise RuntimeError("boom")
            return await method(*args, **kwargs)

        return call

    def stream(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        failures.append(1)
        if len(failures) == 1:
            return _raise()
        return method(*args, **kwargs)  # type: ignore[no-any-return]

    return stream


async def _raise() -> AsyncIterator[Any]:
    raise RuntimeError("boom")
    yield  # pragma: no cover - makes this an async generator


async def test_the_reflector_recovers_from_an_unexpected_watch_error(
    shoal_client: Client,
) -> None:
    failures: list[int] = []
    shoal_client.watch = _failing_once(shoal_client.watch, failures)  # type: ignore[method-assign]
    informer = Informer(shoal_client, "Pod", backoff=0.01)
    informer.start()
    try:
        await informer.wait_for_sync(5)
        await eventually(lambda: len(failures) >= 2)  # failed, then watched again
        await shoal_client.create(pod("after-the-error"))
        await eventually(lambda: informer.get("after-the-error", "default") is not None)
        assert informer.failures == 1
    finally:
        await informer.stop()


async def test_the_reflector_recovers_from_an_unexpected_list_error(
    shoal_client: Client,
) -> None:
    failures: list[int] = []
    shoal_client.list = _failing_once(shoal_client.list, failures)  # type: ignore[method-assign]
    await shoal_client.create(pod("before"))
    informer = Informer(shoal_client, "Pod", backoff=0.01)
    informer.start()
    try:
        await informer.wait_for_sync(10)
        assert informer.get("before", "default") is not None
    finally:
        await informer.stop()


async def test_the_control_plane_lists_and_watches_pods_once(shoal_client: Client) -> None:
    lists: Counter[str] = Counter()  # lists of every pod, as informers make
    plain_list = shoal_client.list

    async def counting_list(kind: Any, namespace: str = "", *args: Any, **kwargs: Any) -> Any:
        if not namespace:
            lists[str(kind)] += 1
        return await plain_list(kind, namespace, *args, **kwargs)

    shoal_client.list = counting_list  # type: ignore[method-assign]
    plane = ControlPlane(shoal_client, "*", leader_elect=False)
    plane.start()
    try:
        await shoal_client.create(_deployment())
        await shoal_client.create(_service())
        # The replicaset controller made a pod and the endpoints controller
        # an Endpoints: both read pods from a synced cache by now.
        await eventually(_has_pods(shoal_client), timeout=15)
        await eventually(_has_endpoints(shoal_client), timeout=15)
        pod_informers = [i for i in shared_informers(shoal_client).informers() if i.kind == "Pod"]
        assert len(pod_informers) == 1
        assert pod_informers[0].handler_count >= 5  # scheduler, nodes, rs, rc, endpoints, gc...
        assert lists["Pod"] == 1
    finally:
        await plane.stop()


def _has_pods(client: Client) -> Any:
    async def check() -> bool:
        return bool((await client.list("Pod", "default")).items)

    return check


def _has_endpoints(client: Client) -> Any:
    async def check() -> bool:
        return bool((await client.list("Endpoints", "default")).items)

    return check


def _deployment() -> Any:
    labels = {"app": "web"}
    return from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
                },
            },
        }
    )


def _service() -> Any:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
    )


async def test_a_restarted_controller_leaves_no_stale_handlers(shoal_client: Client) -> None:
    runs: list[int] = []

    class Crashing(Controller):
        name = "crashing"

        def __init__(self, client: Client) -> None:
            super().__init__(client)
            self.pods = self.informer("Pod")
            self.pods.add_handler(on_add=lambda obj: None)

        async def run(self) -> None:
            runs.append(1)
            if len(runs) < 3:
                raise RuntimeError("crash")
            await super().run()

    registry: Registry[Any] = Registry("controller")
    registry.register("crashing", Crashing)
    options = ControlPlaneOptions(restart_backoff=0.01)
    plane = ControlPlane(shoal_client, "*", leader_elect=False, registry=registry, options=options)
    plane.start()
    try:
        await eventually(lambda: len(runs) == 3)
        pods = shared_informers(shoal_client).for_kind("Pod")
        await eventually(pods.has_synced)
        assert pods.handler_count == 1
    finally:
        await plane.stop()
    assert pods.handler_count == 0
    assert not pods.running


async def test_a_controller_starts_although_its_first_list_fails(shoal_client: Client) -> None:
    failures: list[int] = []
    shoal_client.list = _failing_once(shoal_client.list, failures)  # type: ignore[method-assign]

    class Quiet(Controller):
        name = "quiet"

        def __init__(self, client: Client) -> None:
            super().__init__(client)
            self.watch("Pod")

        async def reconcile(self, key: Any) -> float | None:
            return None

    controller = Quiet(shoal_client)
    task = asyncio.create_task(controller.run())
    try:
        await asyncio.wait_for(controller.ready.wait(), 10)
        assert failures == [1, 1]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
