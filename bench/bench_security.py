"""API create throughput on the default, secure server (TLS, every call
authenticated, and authorization where it is on) beside the same load on an
``--insecure`` server (plain gRPC on loopback), in the same run. Goal:
secure >= 80% of insecure.

Each server runs in its own process (API only, no controllers); the load
comes from this one: 4 clients, 1 and 100 concurrent workers, creates of a
small pod, plus an empty call (Version) to show the per-RPC cost of TLS and
authentication alone. Secure clients authenticate as the admin with the
certificate from admin.conf, and a second round with a service-account
token shows the token path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import tempfile
from typing import Any

from shoal.api.v1 import certificates_pb2, certificates_pb2_grpc
from shoal.client import Client

from bench.bench_api import closed_loop, make_pod
from bench.server_process import ServerProcess

API_ONLY = ("--controllers", "-")
WORKERS = (1, 100)


async def _load(make_client: Any, label: str) -> dict[str, Any]:
    pool = [make_client() for _ in range(4)]
    figures: dict[str, Any] = {}
    try:
        for workers in WORKERS:

            async def create(i: int, w: int = workers) -> None:
                await pool[i % len(pool)].create(make_pod(f"{label}-{w}-{i}"))

            async def empty(i: int) -> None:
                await pool[i % len(pool)].version()

            figures[f"create_w{workers}"] = await closed_loop(workers, create)
            figures[f"empty_w{workers}"] = await closed_loop(workers, empty)
    finally:
        for client in pool:
            await client.close()
    return figures


async def _service_account_token(cfg: Any) -> str:
    async with Client.for_config(cfg) as admin:
        stub = certificates_pb2_grpc.TokensStub(admin.channel)
        answer = await stub.CreateToken(
            certificates_pb2.CreateTokenRequest(namespace="default", name="bench")
        )
    return str(answer.token)


def _ratio(secure: dict[str, Any], plain: dict[str, Any]) -> dict[str, float]:
    return {
        key: round(secure[key]["per_second"] / plain[key]["per_second"], 3)
        for key in plain
        if key in secure
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        plain_server = ServerProcess(root / "insecure", *API_ONLY)
        try:
            address = plain_server.address
            plain = asyncio.run(_load(lambda: Client(address), "plain"))
        finally:
            plain_server.stop()
        secure_server = ServerProcess(root / "secure", *API_ONLY, secure=True)
        try:
            cfg = secure_server.client_config()
            secure = asyncio.run(_load(lambda: Client.for_config(cfg), "cert"))
            token = asyncio.run(_service_account_token(cfg))
            token_cfg = dataclasses.replace(cfg, token=token, cert_data=b"", key_data=b"")
            # The service account may create nothing unless RBAC lets it: time
            # only the empty call for the token path.
            tokens = asyncio.run(_empty_only(lambda: Client.for_config(token_cfg)))
        finally:
            secure_server.stop()
    figures = {
        "insecure": plain,
        "secure_client_certificate": secure,
        "secure_service_account_token": tokens,
        "ratio_secure_to_insecure": _ratio(secure, plain),
        "ratio_token_to_insecure": _ratio(tokens, plain),
    }
    _print(figures)
    return figures


async def _empty_only(make_client: Any) -> dict[str, Any]:
    pool = [make_client() for _ in range(4)]
    try:
        figures = {}
        for workers in WORKERS:

            async def empty(i: int) -> None:
                await pool[i % len(pool)].version()

            figures[f"empty_w{workers}"] = await closed_loop(workers, empty)
        return figures
    finally:
        for client in pool:
            await client.close()


def _print(figures: dict[str, Any]) -> None:
    plain, secure = figures["insecure"], figures["secure_client_certificate"]
    for key in plain:
        ratio = figures["ratio_secure_to_insecure"][key]
        print(
            f"   {key:>11}: secure {secure[key]['per_second']:8.0f}/s "
            f"(p50 {secure[key]['p50_ms']:.2f} ms)  insecure {plain[key]['per_second']:8.0f}/s "
            f"(p50 {plain[key]['p50_ms']:.2f} ms)  ratio {ratio:.2f}"
        )
    for key, value in figures["ratio_token_to_insecure"].items():
        token = figures["secure_service_account_token"][key]["per_second"]
        print(f"   {key:>11}: service-account token {token:8.0f}/s  ratio {value:.2f}")
