"""Images built on this machine, because no registry is reachable.

Both images are one layer holding Debian's static ``busybox`` and a symlink
per applet, imported into the engine with ``docker import`` semantics:

* ``shoal.local/busybox:latest`` — a general test image (``sh``, ``httpd``,
  ``wget``, ``nc``...), ``CMD ["sh"]``.
* ``shoal.local/pause:latest`` — what holds a pod's network namespace on
  Docker: a shell that sleeps forever and exits 0 on SIGTERM.

The runtimes build the pause image on first use; tests and ``shoal up`` call
:func:`ensure_local_images`. Works with the Docker and Podman SDKs.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUSYBOX_IMAGE = "shoal.local/busybox:latest"
PAUSE_IMAGE = "shoal.local/pause:latest"
PAUSE_COMMAND = ["sh", "-c", 'trap "exit 0" TERM; while :; do sleep 3600 & wait; done']
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LABEL_BUILT_BY = "io.shoal.built-by"

_ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "etc/hosts": "127.0.0.1 localhost\n",
}


class ImageBuildError(RuntimeError):
    """The local images cannot be built (no static busybox, engine refused)."""


@dataclass(frozen=True)
class LocalImage:
    tag: str
    changes: tuple[str, ...]  # Dockerfile instructions applied on import


def _cmd(argv: list[str]) -> str:
    return "CMD [" + ", ".join(f'"{_json_escape(a)}"' for a in argv) + "]"


def _json_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


_LABEL = f"LABEL {LABEL_BUILT_BY}=shoal"
LOCAL_IMAGES = (
    LocalImage(BUSYBOX_IMAGE, (f"ENV {PATH_ENV}", _cmd(["sh"]), _LABEL)),
    LocalImage(PAUSE_IMAGE, (f"ENV {PATH_ENV}", _cmd(PAUSE_COMMAND), _LABEL)),
)


def find_static_busybox() -> Path:
    """The static busybox binary (Debian's ``busybox-static``)."""
    found = shutil.which("busybox")
    if not found:
        raise ImageBuildError("busybox not found; install Debian's busybox-static package")
    path = Path(found).resolve()
    if has_interpreter(path.read_bytes()[:65536]):
        raise ImageBuildError(
            f"{path} is dynamically linked; install busybox-static (a static build is "
            "needed because the image holds nothing else)"
        )
    return path


def has_interpreter(elf: bytes) -> bool:
    """Whether a 64-bit little-endian ELF has a PT_INTERP (dynamic loader) header."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        raise ImageBuildError("busybox is not a 64-bit ELF executable")
    (phoff,) = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for index in range(phnum):
        (p_type,) = struct.unpack_from("<I", elf, phoff + index * phentsize)
        if p_type == 3:  # PT_INTERP
            return True
    return False


def busybox_applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True)
    return sorted({name for name in out.stdout.split() if name and "/" not in name})


def build_busybox_tar(path: str | Path, busybox: str | Path | None = None) -> Path:
    """Write a root file system tarball: /bin/busybox, a symlink per applet in
    /bin, /etc basics, and /tmp, /root, /var/www. Returns ``path``."""
    binary = Path(busybox) if busybox else find_static_busybox()
    out = Path(path)
    with tarfile.open(out, "w") as tar:
        for directory, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777)):
            tar.addfile(_dir_entry(directory, mode))
        for directory in ("root", "var", "var/www", "proc", "sys", "dev"):
            tar.addfile(_dir_entry(directory, 0o755))
        tar.add(str(binary), arcname="bin/busybox", filter=_root_owned)
        for applet in busybox_applets(binary):
            if applet != "busybox":
                tar.addfile(_symlink_entry(f"bin/{applet}", "busybox"))
        for name, text in _ETC_FILES.items():
            _add_text(tar, name, text)
    return out


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = 0o755
    return info


def _dir_entry(name: str, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    return info


def _symlink_entry(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
    return info


def _add_text(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def ensure_local_images(
    engine: str | Any = "docker", images: tuple[str, ...] = (BUSYBOX_IMAGE, PAUSE_IMAGE)
) -> list[str]:
    """Import the local images ``engine`` lacks; returns the tags it imported.

    ``engine`` is ``"docker"`` or ``"podman"`` (connect to the default
    socket) or an already connected ``docker.DockerClient`` /
    ``podman.PodmanClient``. Blocking: call it in a thread from async code.
    """
    importer = _importer_for(engine)
    wanted = [image for image in LOCAL_IMAGES if image.tag in images]
    unknown = set(images) - {image.tag for image in wanted}
    if unknown:
        raise ImageBuildError(f"not a local image shoal can build: {', '.join(sorted(unknown))}")
    missing = [image for image in wanted if not importer.has(image.tag)]
    if not missing:
        return []
    with tempfile.TemporaryDirectory(prefix="shoal-image-") as tmp:
        tar = build_busybox_tar(Path(tmp) / "rootfs.tar")
        for image in missing:
            importer.import_tar(tar, image)
    return [image.tag for image in missing]


def _importer_for(engine: str | Any) -> _DockerImporter | _PodmanImporter:
    if engine == "docker":
        import docker

        return _DockerImporter(docker.from_env())
    if engine == "podman":
        from shoal.plugins.runtimes.podman_service import connect

        return _PodmanImporter(connect())
    module = type(engine).__module__
    if module.startswith("docker"):
        return _DockerImporter(engine)
    if module.startswith("podman"):
        return _PodmanImporter(engine)
    raise ImageBuildError(f"unknown engine {engine!r}; expected 'docker' or 'podman'")


class _DockerImporter:
    def __init__(self, client: Any) -> None:
        self.client = client

    def has(self, tag: str) -> bool:
        import docker.errors

        try:
            self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            return False
        return True

    def import_tar(self, tar: Path, image: LocalImage) -> None:
        repository, tag = image.tag.rsplit(":", 1)
        self.client.api.import_image(
            src=str(tar), repository=repository, tag=tag, changes=list(image.changes)
        )


class _PodmanImporter:
    def __init__(self, client: Any) -> None:
        self.client = client

    def has(self, tag: str) -> bool:
        return bool(self.client.images.exists(tag))

    def import_tar(self, tar: Path, image: LocalImage) -> None:
        # podman-py has no import call; this is the libpod REST endpoint
        # behind ``podman import``.
        params = {"reference": image.tag, "changes": list(image.changes)}
        with open(tar, "rb") as body:
            response = self.client.api.post(
                "/images/import",
                params=params,
                data=body,
                headers={"Content-Type": "application/x-tar"},
            )
        response.raise_for_status()
