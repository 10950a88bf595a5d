"""Custom objects beside a built-in kind: creates per second of a CronTab
(a CustomResourceDefinition with a structural schema, defaults and printer
columns) and, in the same run against the same server, of ConfigMaps of the
same size (the baseline; issue 15's goal: custom >= 0.8 x ConfigMap); then
the schema's cost per object (prune, default and validate), in this process,
for a small and a large object.

The server runs in its own process; the load comes from this one.
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile
import time
from typing import Any

from shoal.api.v1 import core_pb2
from shoal.client import Client
from shoal.manifest import from_dict

from bench.bench_api import API_ONLY, closed_loop
from bench.server_process import ServerProcess

GROUP = "bench.shoal.dev"
WORKERS = 8
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["cronSpec"],
            "properties": {
                "cronSpec": {"type": "string", "pattern": r"^(\S+ ){4}\S+$"},
                "image": {"type": "string", "minLength": 1},
                "replicas": {"type": "integer", "minimum": 0, "maximum": 100, "default": 1},
                "mode": {"type": "string", "enum": ["Allow", "Forbid"], "default": "Allow"},
                "args": {"type": "array", "items": {"type": "string"}},
            },
        },
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
    },
}
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"crontabs.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": SCHEMA},
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}
                ],
            }
        ],
    },
}


def crontab(name: str, args: int = 4) -> dict[str, Any]:
    spec = {
        "cronSpec": "*/5 * * * *",
        "image": "busybox:1.36",
        "args": [f"arg-{i}" for i in range(args)],
    }
    meta = {"name": name, "labels": {"app": "bench"}}
    return {"apiVersion": f"{GROUP}/v1", "kind": "CronTab", "metadata": meta, "spec": spec}


def config_map(name: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap()
    cm.metadata.name = name
    cm.metadata.labels["app"] = "bench"
    cm.data.update({"cronSpec": "*/5 * * * *", "image": "busybox:1.36", "args": "a b c d"})
    return cm


async def throughput(address: str) -> dict[str, Any]:
    from shoal.ctl.customkinds import learn

    pool = [Client(address) for _ in range(WORKERS)]
    try:
        await pool[0].create(from_dict(CRD))
        await learn(pool[0])
        figures: dict[str, Any] = {}
        for label, make in (
            ("configmap", lambda i: config_map(f"cm-{i}")),
            ("custom", lambda i: from_dict(crontab(f"ct-{i}"))),
        ):
            figures[f"{label}_creates"] = await closed_loop(
                WORKERS, lambda i, make=make: pool[i % WORKERS].create(make(i))
            )
        return figures
    finally:
        for client in pool:
            await client.close()


def schema_cost() -> dict[str, float]:
    """Microseconds per object of the CRD strategy's default (prune and
    defaults) plus validate, beside the generic metadata checks every kind
    gets; a small object and one with 1000 list items."""
    from shoal import kinds
    from shoal.apiserver.validate import validate_object
    from shoal.plugins.kinds.apiextensions import crd_kinds

    kind = crd_kinds(CRD)[0]
    kinds.register(kind)  # this process's registry (the server's is its own)
    strategy = kind.strategy
    out: dict[str, float] = {}
    for label, args in (("small", 4), ("large", 1000)):
        obj = from_dict(crontab("x", args))
        rounds = 2000 if args < 100 else 50
        started = time.perf_counter()
        for _ in range(rounds):
            strategy.default(obj)
            strategy.validate(obj)
        out[f"schema_{label}_us"] = (time.perf_counter() - started) / rounds * 1e6
    cm = config_map("x")
    cm_kind = kinds.for_message(cm)
    started = time.perf_counter()
    for _ in range(2000):
        validate_object(cm_kind, cm)
    out["configmap_validate_us"] = (time.perf_counter() - started) / 2000 * 1e6
    return out


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(pathlib.Path(tmp) / "server", *API_ONLY)
        try:
            figures.update(asyncio.run(throughput(server.address)))
        finally:
            server.stop()
    cm, custom = figures["configmap_creates"], figures["custom_creates"]
    figures["custom_over_configmap"] = custom["per_second"] / cm["per_second"]
    print(
        f"{WORKERS} clients: ConfigMap creates {cm['per_second']:7.0f}/s "
        f"(p50 {cm['p50_ms']:.2f} ms)"
        f"  CronTab creates {custom['per_second']:7.0f}/s (p50 {custom['p50_ms']:.2f} ms)"
        f"  = {figures['custom_over_configmap']:.2f} x"
    )
    cost = schema_cost()
    figures.update(cost)
    print(
        f"schema prune+default+validate: {cost['schema_small_us']:.0f} us (small object), "
        f"{cost['schema_large_us']:.0f} us (1000 list items); "
        f"a ConfigMap's validation {cost['configmap_validate_us']:.0f} us"
    )
    return figures
