"""The service proxy on loopback: added latency and throughput through the
userspace proxy, beside a direct connection to the same endpoint in the
same run. The endpoint and the load generator are separate processes, so
only the proxy shares its interpreter (with the in-process API server,
which is idle during the measurement)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BACKEND = r"""
import socket, socketserver, sys
class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        first = self.request.recv(65536)
        if first.startswith(b"SINK"):
            while self.request.recv(1 << 20):
                pass
            self.request.sendall(b"done")
        else:
            self.request.sendall(first)
            while data := self.request.recv(65536):
                self.request.sendall(data)
class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

CLIENT = r"""
import json, socket, sys, time
host, port, connects, megabytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def connect():
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
samples = []
for _ in range(connects):  # a new connection and one round trip each: what a request pays
    t = time.perf_counter()
    s = connect(); s.sendall(b"ping"); s.recv(16); s.close()
    samples.append(time.perf_counter() - t)
s = connect()
rtts = []
for _ in range(connects):  # round trips on one open connection
    t = time.perf_counter(); s.sendall(b"x" * 64); s.recv(64); rtts.append(time.perf_counter() - t)
s.close()
chunk = b"\0" * (1 << 20)
s = connect(); s.sendall(b"SINK")
t = time.perf_counter()
for _ in range(megabytes):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR); s.recv(16)
elapsed = time.perf_counter() - t
samples.sort(); rtts.sort()
print(json.dumps({
    "connect_rtt_p50_us": round(samples[len(samples) // 2] * 1e6, 1),
    "connect_rtt_p99_us": round(samples[int(len(samples) * 0.99)] * 1e6, 1),
    "rtt_p50_us": round(rtts[len(rtts) // 2] * 1e6, 1),
    "throughput_MBps": round(megabytes / elapsed, 1),
}))
"""


def _client(host: str, port: int, connects: int, megabytes: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, host, str(port), str(connects), str(megabytes)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    return dict(json.loads(out))


async def _measure(connects: int, megabytes: int) -> dict[str, Any]:
    from shoal.client import Client
    from shoal.manifest import from_dict
    from shoal.plugins.proxy.proxier import ServiceProxy
    from shoal.testing import start_server

    backend = subprocess.Popen([sys.executable, "-c", BACKEND], stdout=subprocess.PIPE, text=True)
    assert backend.stdout is not None
    port = int(backend.stdout.readline())
    with tempfile.TemporaryDirectory() as tmp:
        server = await start_server(Path(tmp))
        client = Client(f"127.0.0.1:{server.port}")
        proxy = ServiceProxy(client, {"node_ip": "127.0.0.1"})
        task = asyncio.create_task(proxy.run())
        try:
            await client.create(_service(from_dict))
            await client.create(_endpoints(from_dict, port))
            while not (
                proxy.balancers.get("default/bench:")
                and proxy.balancers["default/bench:"].endpoints
            ):
                await asyncio.sleep(0.02)
            portal = proxy.portal("default/bench:")
            assert portal is not None
            loop = asyncio.get_running_loop()
            direct = await loop.run_in_executor(
                None, _client, "127.0.0.1", port, connects, megabytes
            )
            proxied = await loop.run_in_executor(
                None, _client, portal[0], portal[1], connects, megabytes
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.close()
            await server.stop(grace=0)
            backend.kill()
    return {"direct": direct, "proxied": proxied}


def _service(from_dict: Any) -> Any:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "bench"},
            "spec": {"ports": [{"port": 80}]},
        }
    )


def _endpoints(from_dict: Any, port: int) -> Any:
    subset = {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": port, "protocol": "TCP"}]}
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "bench"},
            "subsets": [subset],
        }
    )


def run(connects: int = 2000, megabytes: int = 1000) -> dict[str, Any]:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    result = asyncio.run(_measure(connects, megabytes))
    d, p = result["direct"], result["proxied"]
    result["added_connect_rtt_p50_us"] = round(p["connect_rtt_p50_us"] - d["connect_rtt_p50_us"], 1)
    result["added_rtt_p50_us"] = round(p["rtt_p50_us"] - d["rtt_p50_us"], 1)
    result["throughput_ratio"] = round(p["throughput_MBps"] / d["throughput_MBps"], 3)
    for key in ("connect_rtt_p50_us", "rtt_p50_us", "throughput_MBps"):
        print(f"   {key:>20}: direct {d[key]:>9}  via proxy {p[key]:>9}")
    print(
        f"   added latency p50: {result['added_rtt_p50_us']} µs per round trip, "
        f"{result['added_connect_rtt_p50_us']} µs per new connection; "
        f"throughput {result['throughput_ratio']:.0%} of direct"
    )
    return result
