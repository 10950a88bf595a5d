"""Authorization and secrets-at-rest costs, in process, each beside its
baseline from the same run:

- decisions per second of the authorizer chain for a ``system:masters``
  user (the baseline: one group check), for a user granted by one RoleBinding
  among 1,000 (the subject index), for a user with no grant (every lookup
  misses), and for a node reading a Secret its pod uses (node graph);
- Secret creates per second through the API on an encrypting store beside
  the same creates on a plain store (AES-GCM's share of a write).
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile
import time
from typing import Any

from shoal.apiserver.authz import Attributes
from shoal.apiserver.encryption import encrypting
from shoal.apiserver.server import APIServer
from shoal.auth import INSECURE_ADMIN, UserInfo
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.store.sqlite import SQLiteStore

from bench.bench_api import closed_loop

RBAC = "rbac.authorization.k8s.io"
BINDINGS = 1000


def _binding(i: int) -> Any:
    return from_dict(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"b{i}", "namespace": "default"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": f"user-{i}", "apiGroup": RBAC}],
        }
    )


async def _decisions(server: APIServer, attrs: Attributes, seconds: float = 1.0) -> float:
    authorizer = server.authorization.authorizer
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(100):
            await authorizer.authorize(attrs)
        count += 100
    return count / (time.perf_counter() - started)  # the batches overrun `seconds`


async def _until_allowed(server: APIServer, attrs: Attributes) -> None:
    """The policy cache and node graph follow the store by watch: wait."""
    deadline = time.monotonic() + 10
    while not (await server.authorization.authorizer.authorize(attrs)).allowed:
        if time.monotonic() > deadline:
            raise RuntimeError(f"never allowed: {attrs}")
        await asyncio.sleep(0.01)


async def _authorizer_figures(data: pathlib.Path) -> dict[str, Any]:
    server = APIServer(SQLiteStore(data / "state.db", compact_interval=0))
    port = await server.start("127.0.0.1:0")
    async with Client(f"127.0.0.1:{port}") as admin:
        await asyncio.gather(*(admin.create(_binding(i)) for i in range(BINDINGS)))
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
        await admin.create(from_dict(secret))
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "nodeName": "n1",
                "containers": [{"name": "c", "image": "x"}],
                "volumes": [{"name": "v", "secret": {"secretName": "s"}}],
            },
        }
        await admin.create(from_dict(pod))
    user = UserInfo("user-500", ("system:authenticated",))
    node = UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))
    await _until_allowed(server, Attributes(user, "get", "", "pods", "", "default", "web"))
    await _until_allowed(server, Attributes(node, "get", "", "secrets", "", "default", "s"))
    nobody = UserInfo("nobody", ("system:authenticated",))
    get_pods = Attributes(INSECURE_ADMIN, "get", "", "pods", "", "default", "web")
    figures = {
        "masters_per_second": await _decisions(server, get_pods),
        "rbac_user_per_second": await _decisions(server, get_pods.as_user(user)),
        "refused_user_per_second": await _decisions(server, get_pods.as_user(nobody)),
        "node_secret_per_second": await _decisions(
            server, Attributes(node, "get", "", "secrets", "", "default", "s")
        ),
    }
    await server.stop(grace=0)
    return figures


async def _secret_creates(data: pathlib.Path, encrypted: bool) -> dict[str, float]:
    store = SQLiteStore(data / "state.db", compact_interval=0)
    server = APIServer(encrypting(store, data / "key") if encrypted else store)
    port = await server.start("127.0.0.1:0")
    client = Client(f"127.0.0.1:{port}")

    async def create(i: int) -> None:
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s{i}"}}
        body["stringData"] = {"password": "x" * 64, "token": "y" * 512}
        await client.create(from_dict(body))

    try:
        return await closed_loop(50, create)
    finally:
        await client.close()
        await server.stop(grace=0)


async def _all() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for name in ("authz", "plain", "encrypted"):
            (root / name).mkdir()
        figures = await _authorizer_figures(root / "authz")
        plain = await _secret_creates(root / "plain", encrypted=False)
        encrypted = await _secret_creates(root / "encrypted", encrypted=True)
    figures["secret_create_plain"] = plain
    figures["secret_create_encrypted"] = encrypted
    figures["encrypted_vs_plain"] = encrypted["per_second"] / plain["per_second"]
    return figures


def run() -> dict[str, Any]:
    figures = asyncio.run(_all())
    base = figures["masters_per_second"]
    print(f"   decisions/s: system:masters {base:,.0f} (baseline)")
    for key in ("rbac_user", "refused_user", "node_secret"):
        value = figures[f"{key}_per_second"]
        print(f"   decisions/s: {key:<13} {value:,.0f} ({value / base:.0%} of baseline)")
    plain = figures["secret_create_plain"]["per_second"]
    encrypted = figures["secret_create_encrypted"]["per_second"]
    print(f"   secret creates/s (50 workers): plain store {plain:,.0f} (baseline)")
    print(f"   secret creates/s (50 workers): encrypted   {encrypted:,.0f} "
          f"({figures['encrypted_vs_plain']:.0%})")  # fmt: skip
    return figures
