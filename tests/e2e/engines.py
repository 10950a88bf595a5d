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


REMOVAL_ROUNDS = 5  # a pod being created as the agent stopped appears in a later round


def node_objects(engine: str, node_name: str) -> list[str]:
    """Names of the containers (and Podman pods) labelled with the node."""
    client = engine_client(engine)
    label = f"{LABEL_NODE}={node_name}"
    names = [c.name for c in client.containers.list(all=True, filters={"label": label})]
    if engine == "podman":
        names += [p.name for p in client.pods.list(filters={"label": label})]
    return names


def remove_node_objects(engine: str, node_name: str) -> None:
    """Remove the node's pods and containers. A pod the agent was still
    creating in a worker thread when it stopped can appear between the
    listings (its infra container then refuses removal on its own), so this
    goes round until nothing is left."""
    client = engine_client(engine)
    label = f"{LABEL_NODE}={node_name}"
    for _ in range(REMOVAL_ROUNDS):
        failures: list[Exception] = []
        for pod in client.pods.list(filters={"label": label}) if engine == "podman" else []:
            with contextlib.suppress(Exception):  # kill first: Podman's rm -f waits 10 s
                pod.kill()
            try:
                pod.remove(force=True)
            except Exception as err:  # gone meanwhile, or still starting
                failures.append(err)
        for container in client.containers.list(all=True, filters={"label": label}):
            try:
                container.remove(force=True, v=True)
            except Exception as err:  # a new pod's infra container
                failures.append(err)
        if not node_objects(engine, node_name):
            return
    raise AssertionError(f"node {node_name}'s containers outlived removal: {failures}")


def inspect(engine: str, container_id: str) -> dict[str, Any]:
    return dict(engine_client(engine).containers.get(container_id).attrs)


def sandbox_config(name: str = "web", **kwargs: Any) -> PodSandboxConfig:
    return PodSandboxConfig(name=name, namespace="e2e", uid=str(uuid.uuid4()), **kwargs)
