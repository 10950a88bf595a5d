"""The fake runtime's images: tags, ids and each image's ENTRYPOINT and CMD.

Nothing is downloaded. An image's ENTRYPOINT and CMD come from the
``images`` factory option (``{"web:1": {"entrypoint": [...], "cmd": [...]}}``)
or from the config of an archive given to ``load_image`` (``docker save``
format); an image known only by its tag has neither, so a container that
names no command runs until it is stopped.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shoal.plugins.runtimes.engine import entrypoint_and_cmd
from shoal.runtime import ContainerConfig, ImageError, ImageInfo, PullPolicy, RuntimeFailure
from shoal.runtime import never_pull_error as _never_pull

_ids = itertools.count(1)


def new_id(kind: str) -> str:
    return f"{kind}{next(_ids):012x}"


def tagged(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last or "@" in last else f"{image}:latest"


@dataclass
class ImageConfig:
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def _config(value: Any) -> ImageConfig:
    value = value if isinstance(value, Mapping) else {}
    return ImageConfig(list(value.get("entrypoint") or ()), list(value.get("cmd") or ()))


class FakeImages:
    """Images by tag, and the configs of those that have one (by image id)."""

    def __init__(self, images: Iterable[str] | Mapping[str, Any] = (), pull_latency: float = 0.0):
        self.pull_latency = pull_latency
        self.by_tag: dict[str, ImageInfo] = {}
        self.configs: dict[str, ImageConfig] = {}
        self.pulls = 0
        for tag in images:
            info = self.add([tagged(tag)])
            if isinstance(images, Mapping):
                self.configs[info.id] = _config(images[tag])

    def add(self, tags: list[str]) -> ImageInfo:
        info = ImageInfo(id=f"sha256:{new_id('img')}", tags=tags)
        for tag in tags:
            self.by_tag[tag] = info
        return info

    def get(self, image: str) -> ImageInfo | None:
        return self.by_tag.get(tagged(image))

    async def ensure(self, image: str, pull_policy: PullPolicy) -> str:
        present = self.get(image)
        if present and pull_policy != "Always":
            return present.id
        if pull_policy == "Never":
            raise _never_pull(image)
        if image.startswith("fake.invalid/"):
            raise ImageError(f'failed to pull image "{image}": repository does not exist')
        if self.pull_latency:
            await asyncio.sleep(self.pull_latency)
        self.pulls += 1
        return (present or self.add([tagged(image)])).id

    def all(self) -> list[ImageInfo]:
        return list({id(i): i for i in self.by_tag.values()}.values())

    def load(self, tar_path: str) -> list[str]:
        """Tags of a ``docker save`` archive; its first image's config kept."""
        try:
            with tarfile.open(tar_path) as tar:
                manifest = _json(tar, "manifest.json") or []
                config = _image_config(tar, manifest)
        except (OSError, KeyError, TypeError, AttributeError, tarfile.TarError, ValueError) as err:
            raise RuntimeFailure(f"not an image archive (docker save format): {err}") from None
        tags = [tag for entry in manifest for tag in entry.get("RepoTags") or ()]
        self.configs[self.add(tags).id] = config
        return tags

    def argv(self, config: ContainerConfig) -> list[str]:
        """The container's main process, as Docker makes it: ``command``
        replaces the image's ENTRYPOINT (and drops its CMD), ``args`` replace
        CMD."""
        info = self.get(config.image)
        image = self.configs.get(info.id, ImageConfig()) if info else ImageConfig()
        entrypoint, cmd = entrypoint_and_cmd(config)
        return [*(image.entrypoint if entrypoint is None else entrypoint),
                *(image.cmd if cmd is None else cmd)]  # fmt: skip


def _json(tar: tarfile.TarFile, name: str) -> Any:
    member = tar.extractfile(name)
    return json.load(member) if member else None


def _image_config(tar: tarfile.TarFile, manifest: list[Any]) -> ImageConfig:
    """ENTRYPOINT and CMD of the archive's first image, if its config is there."""
    name = manifest[0].get("Config") if manifest else None
    if not name or name not in tar.getnames():
        return ImageConfig()
    inner = (_json(tar, name) or {}).get("config") or {}
    return _config({"entrypoint": inner.get("Entrypoint"), "cmd": inner.get("Cmd")})
