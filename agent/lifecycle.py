"""One pod's sync: make the runtime match the spec (kubelet's ``SyncPod``).

Each call looks at what the runtime runs for the pod, starts what is
missing, restarts what exited (by restart policy, behind the back-off),
kills what fails its liveness probe, and reports the status when it changed.
``terminate`` stops everything gracefully when the pod is deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from shoal import clock, errors
from shoal.agent.backoff import BackOff
from shoal.agent.containers import sandbox_config
from shoal.agent.discovery import service_hosts
from shoal.agent.env import ContainerConfigError
from shoal.agent.events import NORMAL, WARNING, Recorder
from shoal.agent.nodedns import PodDNS
from shoal.agent.podconfig import pod_container_config, refresh_tokens
from shoal.agent.probes import ProbeManager, ProbeTarget
from shoal.agent.status import ContainerView, pod_status
from shoal.agent.tokens import TokenManager
from shoal.agent.volumes import remove_pod_dir
from shoal.runtime import (
    LABEL_CONTAINER_NAME,
    LABEL_POD_UID,
    ContainerStatus,
    ImageError,
    PodSandboxStatus,
    Runtime,
    RuntimeFailure,
)

log = structlog.get_logger("agent")


@dataclass
class NodeContext:
    """What every pod worker of one node shares."""

    client: Any
    runtime: Runtime
    runtime_name: str
    node: str
    host_ip: str
    data_dir: Path
    recorder: Recorder
    backoff: BackOff
    services: Callable[[str], list[Any]]  # namespace -> its Services
    resync: float = 10.0
    retry: float = 1.0
    tokens: TokenManager | None = None  # service-account tokens of projected volumes
    # False under the userspace proxy: pods then get the API server's own
    # address for `kubernetes` (env.direct_master), not its ClusterIP.
    cluster_ips_routed: bool = True
    # The pods' resolv.conf (cluster DNS); None: the engine's default.
    dns: PodDNS | None = None


def should_restart(policy: str, exit_code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def by_name(containers: list[ContainerStatus]) -> dict[str, list[ContainerStatus]]:
    """Each container name's runs, oldest attempt first."""
    runs: dict[str, list[ContainerStatus]] = {}
    for c in sorted(containers, key=lambda c: (c.attempt, c.created_at)):
        runs.setdefault(c.labels.get(LABEL_CONTAINER_NAME, c.name), []).append(c)
    return runs


def grace_period(pod: Any) -> float:
    m, spec = pod.metadata, pod.spec
    if m.HasField("deletion_grace_period_seconds"):
        return float(m.deletion_grace_period_seconds)
    if spec.HasField("termination_grace_period_seconds"):
        return float(spec.termination_grace_period_seconds)
    return 30.0


class PodSyncer:
    def __init__(self, ctx: NodeContext, wake: Callable[[], None]) -> None:
        self.ctx = ctx
        self.pod: Any = None
        self.waiting: dict[str, tuple[str, str]] = {}
        self.reported: Any = None
        self._pull_failed_at: dict[str, float] = {}
        self.probes = ProbeManager(self._probe_failed, lambda _: wake())
        self.finished = False  # a terminal pod's sandbox is stopped

    def event(self, type: str, reason: str, message: str) -> None:
        self.ctx.recorder.emit(self.pod, type, reason, message)

    # -- sync -----------------------------------------------------------------

    async def sync(self, pod: Any) -> float:
        """One pass; the seconds until the pod needs another look."""
        self.pod = pod
        if pod.status.phase in ("Succeeded", "Failed"):
            await self._stop_finished(pod)
            return self.ctx.resync  # finished pods never run again
        sandbox = await self._sandbox(pod)
        await refresh_tokens(self.ctx, pod, self.event)
        runs = by_name(await self.ctx.runtime.list_containers(sandbox.id))
        next_in = self.ctx.resync
        for spec in pod.spec.containers:
            key = f"{pod.metadata.uid}/{spec.name}"
            wait = await self._sync_container(pod, sandbox, spec, runs.get(spec.name, []), key)
            next_in = min(next_in, wait)
        runs = by_name(await self.ctx.runtime.list_containers(sandbox.id))
        await self._report(pod, sandbox, runs)
        return next_in

    async def _stop_finished(self, pod: Any) -> None:
        """A finished pod's sandbox stops once (its pause container, network
        namespace and address freed), as the kubelet stops a terminal pod's
        sandbox; its exited containers stay, for logs, until the pod is
        deleted. A container still running (a pod another party marked
        Failed) is stopped with the pod's grace period first."""
        if self.finished:
            return
        runtime, uid = self.ctx.runtime, pod.metadata.uid
        for sandbox in await runtime.list_pod_sandboxes():
            if sandbox.uid == uid and sandbox.state == "ready":
                await self._stop_containers(pod, await runtime.list_containers(sandbox.id))
                await runtime.stop_pod_sandbox(sandbox.id)
        self.finished = True

    async def _sandbox(self, pod: Any) -> PodSandboxStatus:
        uid = pod.metadata.uid
        mine = [s for s in await self.ctx.runtime.list_pod_sandboxes() if s.uid == uid]
        ready = [s for s in mine if s.state == "ready"]
        if ready:
            return max(ready, key=lambda s: s.attempt)
        for dead in mine:
            await self.ctx.runtime.remove_pod_sandbox(dead.id)
        attempt = max((s.attempt + 1 for s in mine), default=0)
        config = sandbox_config(pod, self.ctx.node, attempt)
        ns = pod.metadata.namespace
        config.extra_hosts = {**service_hosts(self.ctx.services(ns), ns), **config.extra_hosts}
        if self.ctx.dns is not None:
            dns = self.ctx.dns.settings(pod)
            config.dns_servers, config.dns_searches = dns.servers, dns.searches
            config.dns_options = dns.options
        sandbox_id = await self.ctx.runtime.run_pod_sandbox(config)
        return await self.ctx.runtime.pod_sandbox_status(sandbox_id)

    async def _sync_container(
        self, pod: Any, sandbox: PodSandboxStatus, spec: Any, runs: list[ContainerStatus], key: str
    ) -> float:
        latest = runs[-1] if runs else None
        if latest is not None and latest.state == "created":
            await self._start_created(spec, latest)
            return self.ctx.resync
        if latest is not None and latest.state == "running":
            if not self._liveness_failed(latest):
                self.waiting.pop(spec.name, None)
                self._probe(sandbox, spec, latest)
                return self.ctx.resync
            latest = await self._kill_unhealthy(pod, spec, latest)
        if latest is not None and latest.state != "running":
            if not should_restart(pod.spec.restart_policy or "Always", latest.exit_code):
                self.waiting.pop(spec.name, None)
                return self.ctx.resync
            remaining = self.ctx.backoff.remaining(key, latest.finished_at or clock.time())
            if remaining > 0:
                self._crash_loop(pod, spec, key)
                return remaining
            self.ctx.backoff.next(key)
        attempt = latest.attempt + 1 if latest is not None else 0
        return await self._start(pod, sandbox, spec, attempt, runs)

    def _crash_loop(self, pod: Any, spec: Any, key: str) -> None:
        m = pod.metadata
        who = f"{m.name}_{m.namespace}({m.uid})"
        delay = self.ctx.backoff.delay(key)
        message = f"back-off {delay:g}s restarting failed container={spec.name} pod={who}"
        if self.waiting.get(spec.name, ("",))[0] != "CrashLoopBackOff":
            self.event(WARNING, "BackOff", f"Back-off restarting failed container {spec.name}")
        self.waiting[spec.name] = ("CrashLoopBackOff", message)

    async def _start_created(self, spec: Any, created: ContainerStatus) -> None:
        """A container created but never started (the agent stopped between)."""
        try:
            await self.ctx.runtime.start_container(created.id)
            self.event(NORMAL, "Started", f"Started container {spec.name}")
        except RuntimeFailure as err:
            self.event(WARNING, "Failed", f"Error: {err}")

    # -- starting ---------------------------------------------------------------

    async def _start(
        self,
        pod: Any,
        sandbox: PodSandboxStatus,
        spec: Any,
        attempt: int,
        runs: list[ContainerStatus],
    ) -> float:
        wait = await self._pull(spec, f"{pod.metadata.uid}/{spec.name}/image")
        if wait is not None:
            return wait
        try:
            config = await pod_container_config(self.ctx, pod, spec, attempt, sandbox.ip)
        except ContainerConfigError as err:
            self.waiting[spec.name] = ("CreateContainerConfigError", str(err))
            self.event(WARNING, "Failed", f"Error: {err}")
            return self.ctx.retry
        runtime = self.ctx.runtime
        try:
            box = sandbox_config(pod, self.ctx.node, sandbox.attempt)
            container_id = await runtime.create_container(sandbox.id, config, box)
        except RuntimeFailure as err:
            self.waiting[spec.name] = ("CreateContainerError", str(err))
            self.event(WARNING, "Failed", f"Error: {err}")
            return self.ctx.retry
        self.event(NORMAL, "Created", f"Created container {spec.name}")
        self.waiting.pop(spec.name, None)
        try:
            await runtime.start_container(container_id)
            self.event(NORMAL, "Started", f"Started container {spec.name}")
        except RuntimeFailure as err:
            self.event(WARNING, "Failed", f"Error: {err}")
        for old in runs[:-1]:  # keep the previous run, for `logs --previous`
            await self.probes.forget(old.id)
            await runtime.remove_container(old.id)
        return self.ctx.resync

    async def _pull(self, spec: Any, key: str) -> float | None:
        """Make the image present; a wait in seconds when it is not."""
        image, policy = spec.image, spec.image_pull_policy or "IfNotPresent"
        failed_at = self._pull_failed_at.get(spec.name)
        if failed_at is not None:
            remaining = self.ctx.backoff.remaining(key, failed_at)
            if remaining > 0:
                if self.waiting.get(spec.name, ("",))[0] == "ErrImagePull":
                    self.waiting[spec.name] = (
                        "ImagePullBackOff",
                        f'Back-off pulling image "{image}"',
                    )
                    self.event(NORMAL, "BackOff", f'Back-off pulling image "{image}"')
                return remaining
        if policy != "Always" and await self._image_present(image):
            self.event(NORMAL, "Pulled", f'Container image "{image}" already present on machine')
            self._pull_failed_at.pop(spec.name, None)
            return None
        if policy != "Never":
            self.event(NORMAL, "Pulling", f'Pulling image "{image}"')
        began = clock.monotonic()
        try:
            await self.ctx.runtime.ensure_image(image, policy)  # type: ignore[arg-type]
        except ImageError as err:
            self.ctx.backoff.next(key)
            self._pull_failed_at[spec.name] = clock.time()
            self.waiting[spec.name] = (err.reason, str(err))
            reason = err.reason if err.reason == "ErrImageNeverPull" else "Failed"
            self.event(WARNING, reason, str(err))
            return self.ctx.backoff.delay(key)
        took = clock.monotonic() - began
        self.event(NORMAL, "Pulled", f'Successfully pulled image "{image}" in {took:.3f}s')
        self._pull_failed_at.pop(spec.name, None)
        return None

    async def _image_present(self, image: str) -> bool:
        wanted = _tagged(image)
        return any(
            wanted in {_tagged(t) for t in i.tags} or image == i.id
            for i in await self.ctx.runtime.list_images()
        )

    # -- probes -----------------------------------------------------------------

    def _probe(self, sandbox: PodSandboxStatus, spec: Any, running: ContainerStatus) -> None:
        ports = {p.name: p.container_port for p in spec.ports if p.name}
        target = ProbeTarget(self.ctx.runtime, running.id, sandbox.ip, ports)
        self.probes.ensure(target, spec)

    @staticmethod
    def _probed(spec: Any, prober: Any) -> tuple[bool, bool]:
        """(started, ready) of a running container. A container with a
        startup or readiness probe is neither until its prober says so
        (which is also the case before its prober exists: just started)."""
        started = not spec.HasField("startup_probe") or (
            prober is not None and prober.started.is_set()
        )
        if not spec.HasField("readiness_probe"):
            return started, started
        return started, started and prober is not None and prober.results.get("readiness") is True

    def _liveness_failed(self, running: ContainerStatus) -> bool:
        prober = self.probes.get(running.id)
        return prober is not None and prober.results.get("liveness") is False

    async def _kill_unhealthy(self, pod: Any, spec: Any, running: ContainerStatus) -> Any:
        self.event(
            NORMAL, "Killing", f"Container {spec.name} failed liveness probe, will be restarted"
        )
        await self.probes.forget(running.id)
        await self.ctx.runtime.stop_container(running.id, grace_period(pod))
        return await self.ctx.runtime.container_status(running.id)

    def _probe_failed(self, container_id: str, kind: str, message: str) -> None:
        if self.pod is not None:
            self.event(WARNING, "Unhealthy", f"{kind.capitalize()} probe failed: {message}")

    # -- status -----------------------------------------------------------------

    def views(self, pod: Any, runs: dict[str, list[ContainerStatus]]) -> list[ContainerView]:
        views = []
        for spec in pod.spec.containers:
            history = runs.get(spec.name, [])
            latest = history[-1] if history else None
            previous = history[-2] if len(history) > 1 else None
            view = ContainerView(spec.name, spec.image, latest, previous)
            view.waiting = self.waiting.get(spec.name)
            if latest is not None and latest.state == "running":
                view.started, view.ready = self._probed(spec, self.probes.get(latest.id))
            elif latest is not None:
                view.started = False
            views.append(view)
        return views

    async def _report(
        self, pod: Any, sandbox: PodSandboxStatus, runs: dict[str, list[ContainerStatus]]
    ) -> None:
        running = {c.id for history in runs.values() for c in history if c.state == "running"}
        await self.probes.forget_all_but(running)
        old = self.reported if self.reported is not None else pod.status
        status = pod_status(
            pod,
            self.views(pod, runs),
            old=old,
            pod_ip=sandbox.ip,
            host_ip=self.ctx.host_ip,
            runtime=self.ctx.runtime_name,
        )
        if status == pod.status or status == self.reported:
            return
        await self._write_status(pod, status)

    async def _write_status(self, pod: Any, status: Any) -> None:
        """Write ``status`` over the pod's (unless the pod is gone) and remember it."""
        updated = type(pod)()
        updated.CopyFrom(pod)
        updated.status.CopyFrom(status)
        updated.metadata.resource_version = ""
        try:
            await self.ctx.client.update_status(updated)
        except errors.NotFoundError:
            return
        self.reported = status

    # -- termination ------------------------------------------------------------

    async def terminate(self, pod: Any, *, report: bool = True) -> None:
        """Stop the pod's containers (SIGTERM, the grace period, SIGKILL),
        ``report`` the pod's terminal phase (unless it is gone from the API)
        and remove its sandbox and files."""
        self.pod = pod
        runtime, uid = self.ctx.runtime, pod.metadata.uid
        mine = [c for c in await runtime.list_containers() if c.labels.get(LABEL_POD_UID) == uid]
        await self._stop_containers(pod, mine)
        if report:
            stopped = [
                c for c in await runtime.list_containers() if c.labels.get(LABEL_POD_UID) == uid
            ]
            await self._report_terminal(pod, stopped)
        for sandbox in await runtime.list_pod_sandboxes():
            if sandbox.uid == uid:
                await runtime.stop_pod_sandbox(sandbox.id)
                await runtime.remove_pod_sandbox(sandbox.id)
        self.ctx.backoff.forget(f"{uid}/")
        if self.ctx.tokens is not None:
            self.ctx.tokens.forget(uid)
        if pod.spec.volumes:
            remove_pod_dir(self.ctx.data_dir, uid)

    async def _report_terminal(self, pod: Any, containers: list[ContainerStatus]) -> None:
        """A deleted pod's last status, as the kubelet writes it before the
        pod goes: every container stopped, phase Failed (Succeeded if each
        exited 0), so that a Job counts the pod and a pod failure policy
        reads its exit codes."""
        if pod.status.phase in ("Succeeded", "Failed"):
            return
        views = self.views(pod, by_name(containers))
        for view in views:
            view.ready = False
            if view.latest is not None and view.latest.state == "exited":
                view.waiting = None
        status = pod_status(
            pod,
            views,
            old=self.reported if self.reported is not None else pod.status,
            pod_ip=pod.status.pod_ip,
            host_ip=self.ctx.host_ip,
            runtime=self.ctx.runtime_name,
            terminal=True,
        )
        await self._write_status(pod, status)

    async def _stop_containers(self, pod: Any, containers: list[ContainerStatus]) -> None:
        """``Killing`` each running one and stop it with the pod's grace period."""
        running = [c for c in containers if c.state == "running"]
        for c in running:
            self.event(NORMAL, "Killing", f"Stopping container {c.name}")
        await self.probes.forget_all_but(set())
        grace = grace_period(pod)
        await asyncio.gather(*(self.ctx.runtime.stop_container(c.id, grace) for c in running))


def _tagged(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last or "@" in last else f"{image}:latest"
