"""``shoal get pods`` wall time against a server holding 100 pods, beside the
interpreter floor (``python -c pass``) and the import of the client library."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PODS = 100
RUNS = 10


def _wall(argv: list[str]) -> float:
    """Median wall time in ms of RUNS runs (after one warm-up)."""
    subprocess.run(argv, check=True, capture_output=True)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def _serve(ready: threading.Event, stop: threading.Event, port: list[int], data: Path) -> None:
    from shoal.manifest import from_dict
    from shoal.testing import start_server

    async def main() -> None:
        server = await start_server(data)
        from shoal.client import Client

        async with Client(f"127.0.0.1:{server.port}") as client:
            for i in range(PODS):
                await client.create(
                    from_dict(
                        {
                            "apiVersion": "v1",
                            "kind": "Pod",
                            "metadata": {"name": f"pod-{i:03d}"},
                            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
                        }
                    )
                )
        port.append(server.port)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await server.stop(grace=0)

    asyncio.run(main())


def run() -> dict[str, float]:
    ready, stop, port = threading.Event(), threading.Event(), []
    with tempfile.TemporaryDirectory() as data:
        thread = threading.Thread(target=_serve, args=(ready, stop, port, Path(data)), daemon=True)
        thread.start()
        ready.wait(60)
        try:
            shoal = [sys.executable, "-m", "shoal.ctl.main", "--server", f"127.0.0.1:{port[0]}"]
            figures = {
                "python_c_pass_ms": _wall([sys.executable, "-c", "pass"]),
                "import_client_ms": _wall([sys.executable, "-c", "import shoal.client"]),
                "shoal_help_ms": _wall([*shoal, "--help"]),
                f"shoal_get_pods_{PODS}_ms": _wall([*shoal, "get", "pods"]),
                f"shoal_get_pods_{PODS}_yaml_ms": _wall([*shoal, "get", "pods", "-o", "yaml"]),
            }
        finally:
            stop.set()
            thread.join(10)
    print(f"   median wall time of {RUNS} runs (after one warm-up):")
    for name, value in figures.items():
        print(f"   {name:<32} {value:>8.1f} ms")
    return figures
