"""Small builders and waiters shared by the integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from shoal import errors
from shoal.client import WatchEvent
from shoal.manifest import from_dict


def pod(
    name: str,
    *,
    image: str = "busybox:1.36",
    labels: dict[str, str] | None = None,
    namespace: str = "",
    node: str = "",
    **spec: Any,
) -> Any:
    metadata: dict[str, Any] = {"name": name, "labels": labels or {}}
    if namespace:
        metadata["namespace"] = namespace
    body = {"containers": [{"name": "main", "image": image}], **spec}
    if node:
        body["nodeName"] = node
    return from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": body})


def obj(manifest: dict[str, Any]) -> Any:
    return from_dict(manifest)


async def collect(
    events: AsyncIterator[WatchEvent],
    count: int,
    timeout: float = 10.0,
    skip_bookmarks: bool = True,
) -> list[WatchEvent]:
    """The next ``count`` events of a watch, or fail after ``timeout`` s."""
    got: list[WatchEvent] = []

    async def take() -> None:
        async for event in events:
            if skip_bookmarks and event.type == "BOOKMARK":
                continue
            got.append(event)
            if len(got) == count:
                return

    await asyncio.wait_for(take(), timeout)
    return got


async def eventually(
    check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02
) -> Any:
    """Poll ``check`` (sync or async) until it returns a truthy value."""
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


async def update_latest(
    client: Any, kind: str, name: str, namespace: str, change: Callable[[Any], None]
) -> Any:
    """Read the object, ``change`` it and write it back, reading again when a
    controller wrote it in between (client-go's ``retry.RetryOnConflict``):
    a test that edits an object a controller also writes must not fail on
    that race."""
    for _ in range(20):
        current = await client.get(kind, name, namespace)
        change(current)
        try:
            return await client.update(current)
        except errors.ConflictError:
            continue
    raise AssertionError(f"{kind} {namespace}/{name}: still conflicting after 20 tries")
