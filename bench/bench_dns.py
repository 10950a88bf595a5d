"""Cluster DNS on loopback: queries per second and latency of the DNS
server answering a Service name (1,000 Services in its tables), beside a
plain UDP echo server on loopback in the same run (the floor: one Python
process receiving and sending a datagram). Server and load generator are
separate processes; the same query bytes go to both."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.engine_baseline import percentile

SERVICES = 1000
QUERIES = 5000
WINDOW = 32  # queries in flight for the throughput figure

DNS_SERVER = r"""
import asyncio, sys
from google.protobuf import json_format
from shoal.api.v1 import core_pb2
from shoal.plugins.dns.records import build_names
from shoal.plugins.dns.resolver import Resolver
from shoal.plugins.dns.server import DNSServer, Forwarder

def service(i):
    body = {"metadata": {"name": f"svc{i}", "namespace": "default"},
            "spec": {"clusterIP": f"10.96.{i // 250}.{i % 250 + 2}",
                     "ports": [{"name": "http", "port": 80}]}}
    return json_format.ParseDict(body, core_pb2.Service())

async def main():
    from shoal import log
    log.configure("bench", json=True, level="warning")
    resolver = Resolver("cluster.local")
    resolver.names = build_names([service(i) for i in range(int(sys.argv[1]))], [])
    server = DNSServer(resolver, Forwarder([]))
    print(await server.listen("127.0.0.1", 0), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""

ECHO_SERVER = r"""
import asyncio
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport): self.transport = transport
    def datagram_received(self, data, addr): self.transport.sendto(data, addr)
async def main():
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Echo, local_addr=("127.0.0.1", 0))
    print(transport.get_extra_info("sockname")[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

CLIENT = r"""
import json, socket, sys, time
from dnslib import DNSRecord
port, queries, window = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
query = DNSRecord.question("svc500.default.svc.cluster.local").pack()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", port))
s.settimeout(2)
for _ in range(200):  # warm up
    s.send(query); s.recv(4096)
latencies = []
for _ in range(queries):  # one at a time: what a pod's lookup waits
    t = time.perf_counter(); s.send(query); s.recv(4096)
    latencies.append(time.perf_counter() - t)
t = time.perf_counter()
sent = received = 0
while received < queries:  # a window in flight: what the server can answer
    while sent < queries and sent - received < window:
        s.send(query); sent += 1
    s.recv(4096); received += 1
elapsed = time.perf_counter() - t
print(json.dumps({"latencies": latencies, "qps": queries / elapsed}))
"""


def _server(script: str, *args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("the server did not start")
    return proc, int(line)


def _measure(port: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, str(port), str(QUERIES), str(WINDOW)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    got = json.loads(out)
    latencies = [v * 1e6 for v in got["latencies"]]
    return {
        "queries_per_s": round(got["qps"]),
        "p50_us": round(percentile(latencies, 0.5), 1),
        "p99_us": round(percentile(latencies, 0.99), 1),
    }


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {"services": SERVICES, "queries": QUERIES, "window": WINDOW}
    for name, script, args in (
        ("udp_echo", ECHO_SERVER, ()),
        ("cluster_dns", DNS_SERVER, (str(SERVICES),)),
    ):
        proc, port = _server(script, *args)
        try:
            figures[name] = _measure(port)
        finally:
            proc.kill()
            proc.wait()
        print(f"   {name}: {figures[name]}")
    dns, echo = figures["cluster_dns"], figures["udp_echo"]
    figures["qps_ratio_vs_echo"] = round(dns["queries_per_s"] / echo["queries_per_s"], 2)
    figures["p99_added_us"] = round(dns["p99_us"] - echo["p99_us"], 1)
    return figures
