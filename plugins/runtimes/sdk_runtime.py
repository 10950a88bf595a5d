"""What the Docker and Podman runtimes share: SDK calls in a thread pool with
the engine's errors turned into the contract's, the version, and images.
The two SDKs differ in pods, containers and their errors, not here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from shoal.plugins.runtimes.images import PAUSE_IMAGE, ensure_local_images
from shoal.plugins.runtimes.threads import SDKPool
from shoal.runtime import (
    ContainerNotFound,
    ImageError,
    ImageInfo,
    PodSandboxStatus,
    PullPolicy,
    RuntimeFailure,
    never_pull_error,
)


class SDKRuntime:
    """Subclasses set ``_pool``, ``_client``, ``pause_image`` and ``translate``
    (the SDK's exceptions -> ``shoal.runtime``'s), and implement ``_sdk()``."""

    translate: Callable[[Callable[[], Any]], Any]
    _client: Any = None  # the SDK's client, made on first use
    # Phrases with which an engine says an image reference is malformed.
    invalid_image_markers: tuple[str, ...] = ("invalid reference format",)

    def __init__(self, pool: SDKPool, pause_image: str = PAUSE_IMAGE) -> None:
        self._pool = pool
        self.pause_image = pause_image
        self._pause_ready = False

    def _sdk(self) -> Any:
        raise NotImplementedError

    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus:
        raise NotImplementedError

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(client, ...)`` in the pool, with SDK errors as the contract's."""
        return await self._pool.run(type(self).translate, lambda: fn(self._sdk(), *args, **kwargs))

    async def version(self) -> str:
        return str(await self._call(lambda c: c.version()["Version"]))

    async def close(self) -> None:
        if self._client is not None:
            await self._call(lambda c: c.close())
        self._pool.shutdown()

    async def ensure_image(self, image: str, pull_policy: PullPolicy) -> str:
        present = await self._image_id(image)
        if present and pull_policy != "Always":
            return present
        if pull_policy == "Never":
            raise never_pull_error(image)
        try:
            pulled = await self._call(lambda c: c.images.pull(image))
        except RuntimeFailure as exc:
            raise ImageError(f'failed to pull image "{image}": {exc}') from None
        return str(pulled.id)

    async def _image_id(self, image: str) -> str | None:
        try:
            return str((await self._call(lambda c: c.images.get(image))).id)
        except ContainerNotFound:
            return None
        except RuntimeFailure as exc:
            if any(marker in str(exc) for marker in self.invalid_image_markers):
                message = f'invalid image name "{image}": {exc}'
                raise ImageError(message, "InvalidImageName") from None
            raise

    async def list_images(self) -> list[ImageInfo]:
        images = await self._call(lambda c: c.images.list())
        return [ImageInfo(i.id, list(i.tags), int(i.attrs.get("Size", 0))) for i in images]

    async def _ensure_pause_image(self) -> None:
        if not self._pause_ready:
            if self.pause_image == PAUSE_IMAGE:
                await self._call(lambda c: ensure_local_images(c, images=(PAUSE_IMAGE,)))
            self._pause_ready = True

    async def port_forward(
        self, sandbox_id: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        status = await self.pod_sandbox_status(sandbox_id)
        if status.state != "ready":
            raise RuntimeFailure(f"pod sandbox {sandbox_id} is not running", "ContainerNotRunning")
        # The pod's IP is on the engine's bridge, which this host routes to.
        return await asyncio.open_connection(status.ip or "127.0.0.1", port)
