"""Talking to the real engines in the end-to-end tests (see conftest.py)."""

from __future__ import annotations

import contextlib
import functools
import uuid
from typing import Any

from shoal.plugins.runtimes.images import BUSYBOX_IMAGE, PAUSE_IMAGE, ensure_local_images
from shoal.runtime import LABEL_NODE, PodSandboxConfig

from tests.requirements import require

ENGINES = ("docker", "podman")


@functools.cache
def engine_client(engine: str) -> Any:
    """A connected SDK client, or the reason there is none."""
    try:
        if engine == "docker":
            import docker

            client = docker.from_env(timeout=120)
            client.ping()
            return client
        from shoal.plugins.runtimes.podman_service import connect

        return connect()
    except Exception as exc:
        return f"{engine} is not available here: {type(exc).__name__}: {exc}"


@functools.cache
def _images_ready(engine: str) -> bool:
    ensure_local_images(engine_client(engine), images=(BUSYBOX_IMAGE, PAUSE_IMAGE))
    return True


def require_engine(engine: str) -> Any:
    """A connected client; without one the test skips or fails (tests.requirements)."""
    client = engine_client(engine)
    require(engine, client if isinstance(client, str) else None)
    _images_ready(engine)
    return client


def make_runtime(engine: str, node_name: str) -> Any:
    if engine == "docker":
        from shoal.plugins.runtimes.docker import DockerRuntime

        return DockerRuntime({"node_name": node_name})
    from shoal.plugins.runtimes.podman import PodmanRuntime

    return PodmanRuntime({"node_name": node_name})


def node_objects(engine: str, node_name: str) -> list[str]:
    """Names of the containers (and Podman pods) labelled with the node."""
    client = engine_client(engine)
    label = f"{LABEL_NODE}={node_name}"
    names = [c.name for c in client.containers.list(all=True, filters={"label": label})]
    if engine == "podman":
        names += [p.name for p in client.pods.list(filters={"label": label})]
    return names


def remove_node_objects(engine: str, node_name: str) -> None:
    client = engine_client(engine)
    label = f"{LABEL_NODE}={node_name}"
    for pod in client.pods.list(filters={"label": label}) if engine == "podman" else []:
        with contextlib.suppress(Exception):  # kill first: Podman's rm -f waits 10 s
            pod.kill()
        pod.remove(force=True)
    for container in client.containers.list(all=True, filters={"label": label}):
        container.remove(force=True, v=True)


def inspect(engine: str, container_id: str) -> dict[str, Any]:
    return dict(engine_client(engine).containers.get(container_id).attrs)


def sandbox_config(name: str = "web", **kwargs: Any) -> PodSandboxConfig:
    return PodSandboxConfig(name=name, namespace="e2e", uid=str(uuid.uuid4()), **kwargs)
