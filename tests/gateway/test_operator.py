"""examples/operator: an operator written against the official Python
client reconciles custom objects through the gateway (ConfigMap per
Greeting, status, finalizer)."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from pathlib import Path
from typing import Any

import yaml

from tests.crds.helpers import unique_group
from tests.gateway.conftest import GatewayServer
from tests.gateway.test_http import call
from tests.integration.helpers import eventually
from tests.requirements import require_module

kubernetes = require_module("kubernetes")
EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "operator"


def _greeter() -> Any:
    spec = importlib.util.spec_from_file_location("greeter", EXAMPLE / "greeter.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_operator_reconciles_greetings(gateway_server: GatewayServer) -> None:
    gw = gateway_server
    group = unique_group()
    crd = yaml.safe_load((EXAMPLE / "crd.yaml").read_text())
    crd["spec"]["group"] = group
    crd["metadata"]["name"] = f"greetings.{group}"
    code, body = await call(gw, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                            crd)  # fmt: skip
    assert code == 201, body
    greeting = yaml.safe_load((EXAMPLE / "greeting.yaml").read_text())
    greeting["apiVersion"] = f"{group}/v1"
    greetings = f"/apis/{group}/v1/namespaces/default/greetings"

    greeter = _greeter()
    configuration = kubernetes.client.Configuration()
    configuration.host = gw.url
    api = kubernetes.client.ApiClient(configuration)
    stop = threading.Event()
    operator = asyncio.create_task(asyncio.to_thread(greeter.run, api, "default", stop, group))
    try:
        code, body = await call(gw, "POST", greetings, greeting)
        assert code == 201, body

        async def reconciled(message: str) -> bool:
            assert not operator.done(), operator
            code, cm = await call(gw, "GET", "/api/v1/namespaces/default/configmaps/greeting-world")
            _, obj = await call(gw, "GET", f"{greetings}/world")
            return (
                code == 200
                and cm["data"] == {"message": message}
                and obj.get("status", {}).get("phase") == "Ready"
                and obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
            )

        await eventually(lambda: reconciled("Hello, World!"), timeout=30)
        _, obj = await call(gw, "GET", f"{greetings}/world")
        assert obj["metadata"]["finalizers"] == [greeter.FINALIZER]
        code, _ = await call(
            gw, "PATCH", f"{greetings}/world", '{"spec": {"greeting": "Welcome"}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )  # fmt: skip
        assert code == 200
        await eventually(lambda: reconciled("Welcome, World!"), timeout=30)

        code, _ = await call(gw, "DELETE", f"{greetings}/world")
        assert code == 200

        async def cleaned_up() -> bool:
            assert not operator.done(), operator
            gone, _ = await call(gw, "GET", f"{greetings}/world")
            cm, _ = await call(gw, "GET", "/api/v1/namespaces/default/configmaps/greeting-world")
            return gone == 404 and cm == 404

        await eventually(cleaned_up, timeout=30)
    finally:
        stop.set()
        await operator
        api.close()
