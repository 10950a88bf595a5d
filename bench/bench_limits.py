"""The cost and the worth of the limits at the API boundary (docs/security.md).

1. Cost: creates/s of a small ConfigMap by one (non-exempt) user, over gRPC
   and through the REST gateway, on a server with the default limits beside
   one with per-user fairness off (``--max-requests-inflight-per-user 0``),
   in the same run. Goal: on/off >= 0.95. (The bounds on decoding, the body
   cap and authorization before the body are always on, in both.)
2. Fairness: a victim's ``get`` latency (p50/p99, over gRPC and REST) alone,
   then while an attacker in another process floods maximal-but-legal
   requests (64 at once, each the create of a ConfigMap of 1 MiB through the
   gateway, dry run so the store does not grow), on both servers.
   Goal: victim p99 < 100 ms with the limits on.

Servers run in their own processes (API only, secure, with the gateway);
the victim and the cost load run here, the attacker in a child process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import multiprocessing
import pathlib
import ssl
import statistics
import tempfile
import time
from typing import Any

import aiohttp
from shoal import config
from shoal.api.v1 import certificates_pb2, certificates_pb2_grpc
from shoal.client import Client
from shoal.manifest import from_dict

from bench.bench_api import closed_loop, percentile
from bench.server_process import ServerProcess

API_ONLY = ("--controllers", "-", "--http-listen", "127.0.0.1:0")
LIMITS_OFF = ("--max-requests-inflight-per-user", "0")
RBAC = "rbac.authorization.k8s.io"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
VICTIM_SECONDS = 4.0
ATTACKERS = 64
ATTACK_BYTES = 1024 * 1024
ROUNDS = 3


@dataclasses.dataclass
class Cluster:
    server: ServerProcess
    url: str
    ca: bytes
    tokens: dict[str, str]

    def client(self, user: str) -> Client:
        base = self.server.client_config()
        cfg = dataclasses.replace(base, token=self.tokens[user], cert_data=b"", key_data=b"")
        return Client.for_config(cfg)

    def http(self, user: str) -> aiohttp.ClientSession:
        context = ssl.create_default_context(cadata=self.ca.decode())
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=0),
            headers={"Authorization": f"Bearer {self.tokens[user]}"},
        )


def _gateway_url(data_dir: pathlib.Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in config.read(data_dir / "admin.conf").get("clusters") or []:
            url = (entry.get("cluster") or {}).get("http-server")
            if url:
                return str(url)
        time.sleep(0.05)
    raise TimeoutError("the gateway did not start")


async def _accounts(cfg: Any) -> dict[str, str]:
    """Service accounts: writer and attacker may edit, victim may view."""
    tokens: dict[str, str] = {}
    async with Client.for_config(cfg) as admin:
        stub = certificates_pb2_grpc.TokensStub(admin.channel)
        for name, role in (("writer", "edit"), ("attacker", "edit"), ("victim", "view")):
            answer = await stub.CreateToken(
                certificates_pb2.CreateTokenRequest(namespace="default", name=name)
            )
            tokens[name] = str(answer.token)
            subject = {"kind": "ServiceAccount", "name": name, "namespace": "default"}
            await admin.create(from_dict({
                "apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                "metadata": {"name": f"{name}-{role}", "namespace": "default"},
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
                "subjects": [subject]}))  # fmt: skip
        await admin.create(_configmap("target", 100))
    await asyncio.sleep(0.5)  # the bindings reach the policy cache through a watch
    return tokens


def _configmap_dict(name: str, size: int) -> dict[str, Any]:
    meta = {"name": name, "namespace": "default"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"d": "x" * size}}


def _configmap(name: str, size: int) -> Any:
    return from_dict(_configmap_dict(name, size))


def _start(root: pathlib.Path, name: str, *extra: str) -> Cluster:
    server = ServerProcess(root / name, *API_ONLY, *extra, secure=True)
    cfg = server.client_config()
    tokens = asyncio.run(_accounts(cfg))
    return Cluster(server, _gateway_url(root / name), cfg.ca_data, tokens)


# -- 1. the cost ------------------------------------------------------------------


async def _creates(cluster: Cluster, label: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    client = cluster.client("writer")
    http = cluster.http("writer")
    try:
        for workers in (1, 8):

            async def grpc_create(i: int, w: int = workers) -> None:
                await client.create(_configmap(f"{label}-g{w}-{i}", 16))

            async def rest_create(i: int, w: int = workers) -> None:
                body = json.dumps(_configmap_dict(f"{label}-r{w}-{i}", 16))
                headers = {"Content-Type": "application/json"}
                async with http.post(cluster.url + CONFIGMAPS, data=body, headers=headers) as a:
                    assert a.status == 201, await a.text()

            figures[f"grpc_create_w{workers}"] = await closed_loop(workers, grpc_create)
            figures[f"rest_create_w{workers}"] = await closed_loop(workers, rest_create)
    finally:
        await client.close()
        await http.close()
    return figures


# -- 2. fairness ------------------------------------------------------------------


def _attack(url: str, ca: bytes, token: str, seconds: float, counts: Any) -> None:
    """The attacker's process: ATTACKERS requests in flight for ``seconds``."""

    async def flood() -> None:
        context = ssl.create_default_context(cadata=ca.decode())
        body = json.dumps(_configmap_dict("big", ATTACK_BYTES))
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=0), headers=headers
        ) as http:

            async def worker() -> None:
                while time.monotonic() < deadline:
                    async with http.post(f"{url}{CONFIGMAPS}?dryRun=All", data=body) as a:
                        await a.read()
                        counts[0 if a.status == 201 else 1] += 1

            await asyncio.gather(*(worker() for _ in range(ATTACKERS)))

    asyncio.run(flood())


async def _victim(cluster: Cluster) -> dict[str, Any]:
    """Sequential gets of one ConfigMap, over gRPC and REST, for a while."""
    client, http = cluster.client("victim"), cluster.http("victim")
    grpc_ms: list[float] = []
    rest_ms: list[float] = []
    deadline = time.perf_counter() + VICTIM_SECONDS
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await client.get("configmaps", "target", "default")
            grpc_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            async with http.get(f"{cluster.url}{CONFIGMAPS}/target") as answer:
                await answer.read()
                assert answer.status == 200, answer.status
            rest_ms.append((time.perf_counter() - started) * 1000)
    finally:
        await client.close()
        await http.close()
    return {"grpc": _summary(grpc_ms), "rest": _summary(rest_ms)}


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": round(statistics.median(values), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
    }


def _fairness(cluster: Cluster) -> dict[str, Any]:
    alone = asyncio.run(_victim(cluster))
    spawn = multiprocessing.get_context("spawn")  # no fork of a process with gRPC threads
    counts = spawn.Array("i", 2)
    attacker = spawn.Process(
        target=_attack,
        args=(cluster.url, cluster.ca, cluster.tokens["attacker"], VICTIM_SECONDS + 3, counts),
    )
    attacker.start()
    time.sleep(1.5)  # the flood at full strength before the victim starts
    try:
        flooded = asyncio.run(_victim(cluster))
    finally:
        attacker.join()
    return {
        "victim_alone": alone,
        "victim_under_flood": flooded,
        "attacker_served": counts[0],
        "attacker_refused_429": counts[1],
    }


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        clusters = {
            "limits_on": _start(root, "limits_on"),
            "limits_off": _start(root, "limits_off", *LIMITS_OFF),
        }
        try:
            # Both servers run side by side and the rounds alternate, so the
            # machine's other load falls on both alike; the median round counts.
            rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in clusters}
            for i in range(ROUNDS):
                for name, cluster in clusters.items():
                    label = f"{name.replace('_', '-')}-{i}"
                    rounds[name].append(asyncio.run(_creates(cluster, label)))
            for name, cluster in clusters.items():
                figures[name] = {"creates": _median(rounds[name]), "fairness": _fairness(cluster)}
        finally:
            for cluster in clusters.values():
                cluster.server.stop()
    on, off = figures["limits_on"]["creates"], figures["limits_off"]["creates"]
    figures["ratio_creates_on_to_off"] = {
        key: round(on[key]["per_second"] / off[key]["per_second"], 3) for key in on
    }
    _print(figures)
    return figures


def _median(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure, the round with the median rate."""
    return {
        key: sorted((r[key] for r in rounds), key=lambda f: f["per_second"])[len(rounds) // 2]
        for key in rounds[0]
    }


def _print(figures: dict[str, Any]) -> None:
    for key, ratio in figures["ratio_creates_on_to_off"].items():
        on = figures["limits_on"]["creates"][key]["per_second"]
        off = figures["limits_off"]["creates"][key]["per_second"]
        print(f"   {key:>16}: limits on {on:7.0f}/s  off {off:7.0f}/s  ratio {ratio:.2f}")
    for name in ("limits_on", "limits_off"):
        f = figures[name]["fairness"]
        for api in ("grpc", "rest"):
            alone, flooded = f["victim_alone"][api], f["victim_under_flood"][api]
            print(
                f"   {name} victim get {api:>4}: alone p50 {alone['p50_ms']} p99 "
                f"{alone['p99_ms']} ms; flooded p50 {flooded['p50_ms']} p99 "
                f"{flooded['p99_ms']} ms"
            )
        print(
            f"   {name} attacker: {f['attacker_served']} served, "
            f"{f['attacker_refused_429']} refused (429)"
        )
