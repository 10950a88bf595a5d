"""``kubectl get pods`` through the REST gateway beside ``shoal get pods``,
on the same 100 pods of the same server, in the same run; and one list
request over HTTP (gateway) beside the same list over gRPC (the gateway's
own backend), which is the gateway's cost per request.

The server runs in its own process with ``--http-listen``, as a user runs it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.server_process import ServerProcess

PODS = 100
RUNS = 10
REQUESTS = 50
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def _wall(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Median wall time in ms of RUNS runs (after one warm-up)."""
    subprocess.run(argv, check=True, capture_output=True, env=env)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def _http_server(server: ServerProcess, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    conf = server.data_dir / "admin.conf"
    while time.monotonic() < deadline:
        cluster = yaml.safe_load(conf.read_text())["clusters"][0]["cluster"]
        if cluster.get("http-server"):
            return str(cluster["http-server"])
        time.sleep(0.02)
    raise TimeoutError("the gateway did not start")


async def _create_pods(address: str) -> None:
    from shoal.client import Client
    from shoal.manifest import from_dict

    async with Client(address) as client:
        for i in range(PODS):
            await client.create(from_dict({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"pod-{i:03d}"},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
            }))  # fmt: skip


async def _per_request(address: str, url: str) -> dict[str, float]:
    """Median ms of one list of PODS pods: gRPC client, gateway JSON, gateway Table."""
    import aiohttp
    from shoal.client import Client

    async def median(call: object) -> float:
        times = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            await call()  # type: ignore[operator]
            times.append((time.perf_counter() - start) * 1000)
        return round(statistics.median(times), 2)

    path = f"{url}/api/v1/namespaces/default/pods"
    async with Client(address) as client, aiohttp.ClientSession() as http:

        async def http_get(accept: str) -> None:
            async with http.get(path, headers={"Accept": accept}) as response:
                assert response.status == 200
                await response.read()

        return {
            f"grpc_list_{PODS}_ms": await median(lambda: client.list("Pod", "default")),
            f"http_list_{PODS}_json_ms": await median(lambda: http_get("application/json")),
            f"http_list_{PODS}_table_ms": await median(lambda: http_get(TABLE)),
        }


def run() -> dict[str, float]:
    kubectl = shutil.which("kubectl")
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "server", "--controllers", "-",
                               "--http-listen", "127.0.0.1:0")  # fmt: skip
        try:
            url = _http_server(server)
            asyncio.run(_create_pods(server.address))
            shoal = [sys.executable, "-m", "shoal.ctl.main", "--server", server.address]
            figures = {
                "python_c_pass_ms": _wall([sys.executable, "-c", "pass"]),
                f"shoal_get_pods_{PODS}_ms": _wall([*shoal, "get", "pods"]),
            }
            if kubectl:
                env = {**os.environ, "HOME": tmp, "KUBECONFIG": str(Path(tmp) / "none")}
                figures["kubectl_version_client_ms"] = _wall([kubectl, "version", "--client"], env)
                figures[f"kubectl_get_pods_{PODS}_ms"] = _wall(
                    [kubectl, "--server", url, "get", "pods"], env
                )
            figures.update(asyncio.run(_per_request(server.address, url)))
        finally:
            server.stop()
    print(
        f"   median of {RUNS} runs (commands, after one warm-up) "
        f"or of {REQUESTS} requests (grpc_/http_ lists):"
    )
    for name, value in figures.items():
        print(f"   {name:<32} {value:>8.1f} ms")
    return figures
