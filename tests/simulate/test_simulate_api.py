"""``shoal.v1.Simulations/Simulate`` through the secure API server (gRPC)
and the REST gateway: a simulation runs in a child process and answers the
report; bad input is INVALID_ARGUMENT / 400, and a user without the right
is refused."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from shoal.api.v1 import simulate_pb2, simulate_pb2_grpc

from tests.security.conftest import SecureGateway, SecureServer

PATH = "/apis/simulate.shoal.dev/v1/simulations"
WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: shoal.local/hello:v1}]}
"""
BAD = [
    ({"nodes": 2, "duration": "soon"}, "invalid duration"),
    ({"nodes": 2, "manifests": "a: [unclosed"}, "manifests"),
    ({"nodes": 2, "killNodes": ["nope@1m"]}, "no node 'nope'"),
    ({"nodes": 2, "manifests": "kind: Scenario\nevents: [{at: 1m, action: boom}]"}, "action"),
    ({}, "no nodes"),
]


async def simulate(client: Any, **fields: Any) -> Any:
    stub = simulate_pb2_grpc.SimulationsStub(client.channel)
    return await stub.Simulate(simulate_pb2.SimulateRequest(**fields))


@pytest.mark.timeout(300)  # a safety net only
async def test_a_simulation_over_grpc(secure_server: SecureServer) -> None:
    answer = await simulate(
        secure_server.admin, nodes=3, manifests=WEB, kill_nodes=["30s"], duration="2m"
    )
    report = json.loads(answer.report_json)
    assert report["nodes"] == 3 and report["durationSeconds"] == 120
    assert report["disruptions"][0]["action"] == "kill-node"


@pytest.mark.timeout(300)  # a safety net only
async def test_from_cluster_over_grpc_copies_the_workloads(secure_server: SecureServer) -> None:
    from shoal.manifest import from_dict, load_documents

    await secure_server.admin.create(from_dict(load_documents(WEB)[0]))
    answer = await simulate(secure_server.admin, nodes=2, from_cluster=True, duration="1m")
    report = json.loads(answer.report_json)
    assert (report["running"], report["pending"]) == (4, 0)


@pytest.mark.parametrize(("body", "message"), BAD)
async def test_bad_input_over_grpc_is_invalid_argument(
    secure_server: SecureServer, body: dict[str, Any], message: str
) -> None:
    fields = {
        "nodes": body.get("nodes", 0),
        "duration": body.get("duration", ""),
        "manifests": body.get("manifests", ""),
        "kill_nodes": body.get("killNodes", []),
    }
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await simulate(secure_server.admin, **fields)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (err.value.details() or "")


async def test_a_user_without_the_right_is_refused_over_grpc(
    secure_server: SecureServer,
) -> None:
    carol = secure_server.user_client("carol")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await simulate(carol, nodes=2, duration="1m")
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await carol.close()


@pytest.mark.timeout(300)  # a safety net only
async def test_a_simulation_over_rest(secure_gateway: SecureGateway) -> None:
    body = {"nodes": 3, "manifests": WEB, "drainNodes": ["hollow-0000@30s"], "duration": "2m"}
    answer = await secure_gateway.call("POST", PATH, body=body)
    assert answer.code == 200, answer.body
    assert answer.body["nodes"] == 3
    assert answer.body["disruptions"][0]["node"] == "hollow-0000"


async def test_the_rest_path_is_in_discovery(secure_gateway: SecureGateway) -> None:
    groups = (await secure_gateway.call("GET", "/apis")).body["groups"]
    [group] = [g for g in groups if g["name"] == "simulate.shoal.dev"]
    assert group["preferredVersion"]["groupVersion"] == "simulate.shoal.dev/v1"
    listed = await secure_gateway.call("GET", "/apis/simulate.shoal.dev/v1")
    assert listed.code == 200, listed.body
    [resource] = listed.body["resources"]
    assert (resource["name"], resource["verbs"], resource["namespaced"]) == (
        "simulations",
        ["create"],
        False,
    )


@pytest.mark.parametrize(
    ("body", "message"), [*BAD, ({"nodes": "many"}, "SimulateRequest"), ([1], "object")]
)
async def test_bad_input_over_rest_is_400(
    secure_gateway: SecureGateway, body: Any, message: str
) -> None:
    answer = await secure_gateway.call("POST", PATH, body=body)
    assert answer.code == 400, answer.body
    assert message in answer.body["message"]


async def test_a_user_without_the_right_is_refused_over_rest(
    secure_gateway: SecureGateway,
) -> None:
    answer = await secure_gateway.call("POST", PATH, user="carol", groups=(), body={"nodes": 2})
    assert answer.code == 403, answer.body
