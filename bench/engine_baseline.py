"""The plain engine as a baseline for pod start: one container started
straight through the engine's API (the Docker SDK on dockerd, podman-py on
the Podman service, as shoal's runtime plugins reach them), timed from the
create call until the engine's inspect says ``State.Running``. The CLI's
start, the container's exit and its removal are not in the figure:
containers are removed afterwards, untimed."""

from __future__ import annotations

import math
import time
from typing import Any

from shoal.plugins.runtimes.images import BUSYBOX_IMAGE

LABEL = "io.shoal.bench"


def engine_client(engine: str) -> Any:
    if engine == "docker":
        import docker

        return docker.DockerClient(version="auto", timeout=120)
    from shoal.plugins.runtimes.podman_service import connect

    return connect()


def plain_start(client: Any) -> float:
    """Seconds from asking the engine for a running container until it is
    running (create + start, then inspect until State.Running)."""
    started = time.perf_counter()
    container = client.containers.create(BUSYBOX_IMAGE, ["sleep", "3600"], labels={LABEL: "plain"})
    container.start()
    container.reload()
    while not container.attrs["State"]["Running"]:
        time.sleep(0.005)
        container.reload()
    return time.perf_counter() - started


def plain_starts(engine: str, count: int) -> list[float]:
    """``count`` plain starts after one untimed warm-up; every container
    stays running until all are timed (as a node's pods do), then goes."""
    client = engine_client(engine)
    try:
        plain_start(client)
        return [plain_start(client) for _ in range(count)]
    finally:
        for container in client.containers.list(all=True, filters={"label": f"{LABEL}=plain"}):
            container.remove(force=True)
        client.close()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``q`` of
    the samples at or below it."""
    ordered = sorted(values)
    rank = math.ceil(q * len(ordered) - 1e-9)  # 1e-9: 0.9 * 30 is 27.000000000000004
    return ordered[min(len(ordered), max(rank, 1)) - 1]
