"""The ``shoal.v1.Simulations`` gRPC service in the API server: checks the
request here (INVALID_ARGUMENT names the problem), snapshots the cluster
from the server's own registry for ``from_cluster``, then runs the
simulation in a child process (``child.py``), one at a time, so the API
server's event loop never stalls. Authorized by the API server's interceptor
as ``get`` on the non-resource URL ``/shoal.v1.Simulations/Simulate``."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from shoal import errors, kinds
from shoal.api.v1 import simulate_pb2, simulate_pb2_grpc
from shoal.contracts import APIServiceContext
from shoal.manifest import to_dict
from shoal.plugins.simulate import child
from shoal.plugins.simulate.scenario import (
    ScenarioError,
    Simulation,
    add_documents,
    hollow_nodes,
    parse_node_action,
    parse_time,
)
from shoal.plugins.simulate.snapshot import WORKLOAD_KINDS, _node, workload

SERVICE = "shoal.v1.Simulations"


def build(request: Any) -> Simulation:
    """The Simulation a request asks for (nodes from the cluster added by the caller)."""
    sim = Simulation(duration=parse_time(request.duration or "10m", "duration"))
    if request.nodes < 0:
        raise ScenarioError("nodes cannot be negative")
    if request.nodes:
        sim.nodes.extend(
            hollow_nodes(request.nodes, request.node_cpu or "4", request.node_memory or "8Gi")
        )
    if request.manifests:
        add_documents(sim, request.manifests, "manifests")
    sim.actions += [parse_node_action(k, "kill-node") for k in request.kill_nodes]
    sim.actions += [parse_node_action(d, "drain-node") for d in request.drain_nodes]
    return sim


class Simulations:
    """Plain Python: build, snapshot, run in a child."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.running = asyncio.Lock()

    async def simulate(self, request: Any) -> str:
        try:
            sim = build(request)
            if request.from_cluster:
                await self._snapshot(sim)
            sim.validate()
        except ScenarioError as err:
            raise errors.BadRequestError(str(err)) from None
        if self.running.locked():
            raise errors.TooManyRequestsError(
                "a simulation is already running; try again later", 10
            )
        async with self.running:
            return await self._run_child(child.dump(sim))

    async def _snapshot(self, sim: Simulation) -> None:
        for node in (await self.registry.list(kinds.resolve("nodes"), "")).items:
            sim.nodes.append(_node(to_dict(node)))
        for kind in WORKLOAD_KINDS:
            for obj in (await self.registry.list(kinds.resolve(kind), "")).items:
                doc = workload(to_dict(obj))
                if doc is not None:
                    sim.workloads.append(doc)

    async def _run_child(self, spec: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "shoal.plugins.simulate.child",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await proc.communicate(spec.encode())
        except asyncio.CancelledError:
            proc.kill()
            raise
        if proc.returncode != 0:
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise errors.APIError(f"the simulation failed: {tail[0]}")
        return out.decode()


class SimulationsServicer(simulate_pb2_grpc.SimulationsServicer):
    def __init__(self, api: Simulations) -> None:
        self.api = api

    async def Simulate(self, request: Any, context: Any) -> Any:
        try:
            report = await self.api.simulate(request)
        except errors.APIError as err:
            await context.abort(err.code, err.message, errors.trailing_metadata(err))
        return simulate_pb2.SimulateResponse(report_json=report)


class SimulationsServer:
    service_names = (SERVICE,)

    def __init__(self, context: APIServiceContext) -> None:
        self.api = Simulations(context.registry)

    def add_to_server(self, server: Any) -> None:
        simulate_pb2_grpc.add_SimulationsServicer_to_server(SimulationsServicer(self.api), server)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
