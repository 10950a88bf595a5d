"""Runs a :class:`~shoal.plugins.simulate.scenario.Simulation`: the real API
server (SQLite in a temporary directory, on /dev/shm when there is one), the
control plane ``shoal server`` runs (scheduler and every registered
controller) and one hollow node per NodeSpec, all in this process on a
:class:`VirtualClockLoop`, with :mod:`shoal.clock` following it.

:func:`run` is synchronous and owns its event loop and the process's clock
while it runs; servers call it in a child process (see ``service.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from shoal import clock
from shoal.plugins.simulate.observer import Observer
from shoal.plugins.simulate.report import Report
from shoal.plugins.simulate.scenario import Action, NodeSpec, Simulation
from shoal.plugins.simulate.virtualloop import VirtualClockLoop, virtual_clocks

log = structlog.get_logger("simulate")
FIELD_MANAGER = "shoal-simulate"
PENDING_CALLS = 1_000_000  # calls gRPC may hold for the server's loop (connlimits.py)
POD_RESYNC_SECONDS = 60.0  # the kubelet's --sync-frequency
EVICTION_RETRY_SECONDS = 5.0  # how often a drain asks again for a refused eviction (kubectl)
_EVICTIONS: set[asyncio.Task[None]] = set()  # a drain's evictions still asking


def run(sim: Simulation, *, epoch: float | None = None, virtual: bool = True) -> Report:
    """Simulate ``sim``; ``virtual=False`` runs the same thing in real time
    (the benchmark's baseline)."""
    sim.validate()
    began = time.perf_counter()
    if not virtual:
        loop = asyncio.new_event_loop()
        try:
            report = loop.run_until_complete(_simulate(sim, loop))
        finally:
            _cancel_leftovers(loop)
            loop.close()
        report.wall_seconds = time.perf_counter() - began
        return report
    vloop = VirtualClockLoop()
    wall, mono = virtual_clocks(vloop, time.time() if epoch is None else epoch)
    try:
        with clock.install(wall, mono):
            report = vloop.run_until_complete(_simulate(sim, vloop))
    finally:
        _cancel_leftovers(vloop)
        vloop.close()
    report.wall_seconds = time.perf_counter() - began
    return report


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Tasks parts left behind (the fake runtime's container loops)."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())


def _data_dir() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="shoal-simulate-", dir=shm if shm.is_dir() else None))


async def _simulate(sim: Simulation, loop: asyncio.AbstractEventLoop) -> Report:
    from shoal.apiserver.connlimits import ConnectionLimits
    from shoal.apiserver.server import APIServer
    from shoal.client import Client
    from shoal.controlplane import ControlPlane, ControlPlaneOptions
    from shoal.store.sqlite import SQLiteStore

    data_dir = _data_dir()
    store = SQLiteStore(data_dir / "state.db")
    # Every client is in this process and every call must be answered: a
    # call gRPC shed under a burst would be a failure the cluster never has.
    server = APIServer(store, connections=ConnectionLimits(pending_calls=PENDING_CALLS))
    await server.start("127.0.0.1:0")
    address = f"127.0.0.1:{server.port}"
    clients = [Client(address) for _ in range(3)]
    control_plane = ControlPlane(clients[0], "*", leader_elect=False, options=ControlPlaneOptions())
    agent = _agent(address, sim.nodes, data_dir)
    try:
        control_plane.start()
        await agent.start()
        await _taint(clients[1], sim.nodes)
        return await _play(sim, loop, clients[1], clients[2], agent)
    finally:
        with contextlib.suppress(Exception):
            await agent.stop()
        await control_plane.stop()
        for c in clients:
            await c.close()
        await server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _agent(address: str, nodes: list[NodeSpec], data_dir: Path) -> Any:
    from shoal.agent.agent import Agent, AgentOptions
    from shoal.agent.kubelet import Timing
    from shoal.agent.node import NodeFacts

    by_name = {n.name: n for n in nodes}

    class SimulatedAgent(Agent):
        """Hollow nodes named and sized as the simulation says."""

        def node_names(self) -> list[str]:
            return list(by_name)

        def _facts(self, name: str) -> NodeFacts:
            spec = by_name[name]
            return NodeFacts(
                name=name,
                address="127.0.0.1",
                cpu=spec.cpu,
                memory=spec.memory,
                max_pods=spec.max_pods,
                stream_port=self.stream_port,
                labels=dict(spec.labels),
            )

    options = AgentOptions(
        server=address,
        name="hollow",
        hollow_nodes=len(nodes),
        data_dir=data_dir / "agent",
        stream_listen="127.0.0.1:0",
        metrics_listen="none",
        runtime="fake",
        # A pod whose containers did not change is looked at again once a
        # minute, as the kubelet's --sync-frequency; changes still wake it at
        # once (the relist, every second). The agent's own 10 s made 30,000
        # pods 3,000 needless syncs per simulated second.
        timing=Timing(resync=POD_RESYNC_SECONDS),
    )
    return SimulatedAgent(options)


async def _taint(client: Any, nodes: list[NodeSpec]) -> None:
    for node in nodes:
        if node.taints:
            await client.patch("Node", node.name, {"spec": {"taints": node.taints}})


async def _play(
    sim: Simulation, loop: asyncio.AbstractEventLoop, client: Any, watcher: Any, agent: Any
) -> Report:
    from shoal.client import shared_informers

    start = loop.time()
    observer = Observer(lambda: loop.time() - start)
    pods = shared_informers(watcher).for_kind("Pod")
    pods.add_handler(observer.added, observer.updated, observer.deleted)
    pods.start()
    await pods.wait_synced()
    report = Report(nodes=[n.name for n in sim.nodes], duration=sim.duration)
    for doc in sim.workloads:
        await client.apply(doc, field_manager=FIELD_MANAGER, force=True)
    actions = list(sim.actions)
    every = sim.sample_every()
    next_sample = 0.0
    try:
        while True:
            now = loop.time() - start
            while actions and actions[0].at <= now:
                await _act(actions.pop(0), client, agent, observer, report)
            if now >= next_sample:
                report.sample(now, observer)
                next_sample += every
            if now >= sim.duration:
                break
            wake = min([next_sample, sim.duration] + [a.at for a in actions[:1]])
            await asyncio.sleep(max(wake - now, 0.0))
    finally:
        await pods.stop()
    report.jobs = await _jobs(client)
    report.finish(observer, getattr(loop, "jumps", 0))
    return report


async def _jobs(client: Any) -> list[dict[str, str]]:
    """Every Job at the end (a CronJob's included): whether it completed,
    failed (and why) or is still running."""
    from shoal.plugins.controllers import job_util as ju

    jobs = []
    for job in (await client.list("Job")).items:
        done = next((k for k in (ju.COMPLETE, ju.FAILED) if ju.has_condition(job, k)), "")
        why = ju.condition(job, done) if done else None
        jobs.append(
            {
                "namespace": job.metadata.namespace,
                "name": job.metadata.name,
                "status": done or "Active",
                "reason": why.reason if why is not None else "",
            }
        )
    return sorted(jobs, key=lambda j: (j["namespace"], j["name"]))


async def _act(action: Action, client: Any, agent: Any, observer: Observer, report: Report) -> None:
    from shoal import errors

    log.info("scenario action", action=action.action, at=action.at)
    try:
        if action.action in ("kill-node", "drain-node"):
            node = action.node or _busiest(agent, observer)
            action.node = node
            observer.disrupt(action.action, node)
            if action.action == "kill-node":
                await _kill(agent, node)
            else:
                await _drain(client, node, report, observer.now)
        elif action.action == "scale":
            await client.patch(
                action.kind, action.name, {"spec": {"replicas": action.replicas}}, action.namespace
            )
        elif action.action == "apply":
            await client.apply(action.manifest, field_manager=FIELD_MANAGER, force=True)
        elif action.action == "delete":
            await client.delete(action.kind, action.name, action.namespace)
        report.actions.append({"at": action.at, "action": action.describe(), "error": ""})
    except errors.APIError as err:
        report.actions.append({"at": action.at, "action": action.describe(), "error": str(err)})


def _busiest(agent: Any, observer: Observer) -> str:
    live = [n for n in agent.nodes if n not in observer.dead]
    return max(live, key=lambda n: (observer.running_on(n), n)) if live else ""


async def _kill(agent: Any, node: str) -> None:
    """The node stops: no more heartbeats, Lease renewals or pod syncs."""
    handle = agent.nodes.pop(node, None)
    if handle is not None:
        await handle.stop()


async def _drain(client: Any, node: str, report: Report, now: Callable[[], float]) -> None:
    """Cordon, then evict every pod on the node as ``shoal drain
    --ignore-daemonsets`` does: PodDisruptionBudgets are honoured, and an
    eviction a budget refuses is asked again every 5 s of simulated time
    (kubectl's pace) until it is allowed or the scenario ends. Any other
    refusal is reported with the drain, as kubectl prints it."""
    await client.patch("Node", node, {"spec": {"unschedulable": True}})
    pods = (await client.list("Pod", field_selector=f"spec.nodeName={node}")).items
    for pod in pods:
        if not any(o.controller and o.kind == "DaemonSet" for o in pod.metadata.owner_references):
            task = asyncio.create_task(_evict(client, pod, report, now))
            _EVICTIONS.add(task)
            task.add_done_callback(_EVICTIONS.discard)


async def _evict(client: Any, pod: Any, report: Report, now: Callable[[], float]) -> None:
    from shoal import errors
    from shoal.api.v1 import policy_pb2

    eviction = policy_pb2.Eviction()
    eviction.metadata.name, eviction.metadata.namespace = pod.metadata.name, pod.metadata.namespace
    while True:
        try:
            await client.create(eviction)
            return
        except errors.NotFoundError:
            return  # gone meanwhile
        except errors.TooManyRequestsError:  # a budget allows no disruption now
            await asyncio.sleep(EVICTION_RETRY_SECONDS)
        except errors.APIError as err:
            at = round(now(), 3)
            what = f"evict pod {pod.metadata.namespace}/{pod.metadata.name}"
            report.actions.append({"at": at, "action": what, "error": str(err)})
            return
