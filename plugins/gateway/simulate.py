"""``POST /apis/simulate.shoal.dev/v1/simulations``: a what-if simulation
over REST (the ``shoal.v1.Simulations/Simulate`` RPC, called as the
requesting user, so it is authorized as gRPC is; docs/simulate.md).

The body is the SimulateRequest in JSON (``manifests`` as YAML text,
``nodes``, ``killNodes: ["3m"]``, ``duration: "10m"``, ``fromCluster``...);
the answer is the report, as ``shoal simulate -o json`` prints it. A bad body
or bad input is 400 with a Status naming the problem.
"""

from __future__ import annotations

import json
from typing import Any

import grpc
from aiohttp import web
from google.protobuf import json_format
from shoal import errors
from shoal.api.v1 import simulate_pb2, simulate_pb2_grpc
from shoal.client import Client
from shoal.plugins.gateway.bodies import read_json, respond
from shoal.plugins.gateway.podstreams import rpc_error
from shoal.plugins.gateway.status import not_found

GROUP_VERSION = "simulate.shoal.dev/v1"
PATH = f"/apis/{GROUP_VERSION}/simulations"


def discovery_resources() -> list[dict[str, Any]]:
    """Listed in discovery (``kubectl api-resources``): create is the only
    verb, cluster-wide; nothing is stored."""
    return [
        {
            "name": "simulations",
            "singularName": "simulation",
            "namespaced": False,
            "kind": "Simulation",
            "verbs": ["create"],
        }
    ]


def add_routes(app: web.Application, client: Client) -> None:
    async def simulate(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise errors.BadRequestError("the body must be a SimulateRequest object")
        try:
            ask = json_format.ParseDict(body, simulate_pb2.SimulateRequest())
        except json_format.ParseError as err:
            raise errors.BadRequestError(f"bad SimulateRequest: {err}") from None
        stub = simulate_pb2_grpc.SimulationsStub(client.channel)
        try:
            answer = await stub.Simulate(ask)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.UNIMPLEMENTED:  # no simulate plugin loaded
                raise not_found() from None
            raise rpc_error(err) from None
        return respond(json.loads(answer.report_json))

    app.router.add_post(PATH, simulate)
