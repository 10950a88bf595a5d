"""Liveness, readiness and startup probes (exec, httpGet, tcpSocket).

One prober task per probe of a running container. A result flips only after
``failureThreshold`` failures or ``successThreshold`` successes in a row;
a flip calls ``on_change`` so the pod worker acts (restart on liveness,
Ready on readiness). Until the startup probe passes the others wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from shoal.runtime import Runtime, RuntimeFailure

ProbeKind = Literal["liveness", "readiness", "startup"]
Failed = Callable[[str, ProbeKind, str], None]  # (container id, kind, message)
Changed = Callable[[str], None]  # (container id)


@dataclass
class ProbeTarget:
    """Where a probe goes: the container (exec) or the pod's address."""

    runtime: Runtime
    container_id: str
    pod_ip: str
    ports: dict[str, int] = field(default_factory=dict)  # named container ports


def _port(value: Any, ports: dict[str, int]) -> int:
    if value.HasField("string_value"):
        name = value.string_value
        if name.isdigit():
            return int(name)
        if name not in ports:
            raise ValueError(f'port "{name}" is not a named port of the container')
        return ports[name]
    return int(value.number_value)


async def _http_get(action: Any, target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    host = action.host or target.pod_ip
    port = _port(action.port, target.ports)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        headers = "".join(f"{h.name}: {h.value}\r\n" for h in action.http_headers)
        request = f"GET {action.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}"
        writer.write(f"{request}User-Agent: shoal-probe\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
    parts = line.decode(errors="replace").split()
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return 200 <= code < 400, f"HTTP probe failed with statuscode: {code}"


async def _tcp(action: Any, target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    host = action.host or target.pod_ip
    port = _port(action.port, target.ports)
    _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    writer.close()
    return True, ""


async def run_probe(probe: Any, target: ProbeTarget) -> tuple[bool, str]:
    """One attempt: (passed, message for the Unhealthy event)."""
    timeout = float(probe.timeout_seconds or 1)
    try:
        if probe.HasField("exec"):
            cmd = list(probe.exec.command)
            result = await target.runtime.exec_sync(target.container_id, cmd, timeout)
            output = (result.stdout + result.stderr).decode(errors="replace").strip()
            return result.exit_code == 0, output or f"command exited with {result.exit_code}"
        if probe.HasField("http_get"):
            return await _http_get(probe.http_get, target, timeout)
        if probe.HasField("tcp_socket"):
            return await _tcp(probe.tcp_socket, target, timeout)
        return False, "the probe has no handler (exec, httpGet or tcpSocket)"
    except TimeoutError:
        return False, f"timeout: probe did not answer within {timeout:g}s"
    except (OSError, RuntimeFailure, ValueError) as err:
        return False, str(err)


class Prober:
    """The probes of one running container."""

    def __init__(
        self, target: ProbeTarget, probes: dict[ProbeKind, Any], failed: Failed, changed: Changed
    ) -> None:
        self.target, self.probes = target, probes
        self._failed, self._changed = failed, changed
        self.results: dict[ProbeKind, bool] = {}
        self.started = asyncio.Event()
        if "startup" not in probes:
            self.started.set()
        self._tasks = [asyncio.create_task(self._loop(kind, p)) for kind, p in probes.items()]

    async def _loop(self, kind: ProbeKind, probe: Any) -> None:
        if kind != "startup":
            await self.started.wait()
        await asyncio.sleep(probe.initial_delay_seconds)
        period = float(probe.period_seconds or 10)
        success, failure = probe.success_threshold or 1, probe.failure_threshold or 3
        streak_ok = streak_bad = 0
        while True:
            ok, message = await run_probe(probe, self.target)
            streak_ok, streak_bad = (streak_ok + 1, 0) if ok else (0, streak_bad + 1)
            if not ok:
                self._failed(self.target.container_id, kind, message)
            if ok and streak_ok >= success:
                self._set(kind, True)
                if kind == "startup":
                    self.started.set()
                    return
            elif not ok and streak_bad >= failure:
                self._set(kind, False)
            await asyncio.sleep(period)

    def _set(self, kind: ProbeKind, ok: bool) -> None:
        if self.results.get(kind) != ok:
            self.results[kind] = ok
            self._changed(self.target.container_id)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ProbeManager:
    """Probers by container id."""

    def __init__(self, failed: Failed, changed: Changed) -> None:
        self._failed, self._changed = failed, changed
        self._probers: dict[str, Prober] = {}

    def ensure(self, target: ProbeTarget, container: Any) -> Prober | None:
        prober = self._probers.get(target.container_id)
        if prober is not None:
            return prober
        probes: dict[ProbeKind, Any] = {}
        for kind in ("liveness", "readiness", "startup"):
            field_name = f"{kind}_probe"
            if container.HasField(field_name):
                probes[kind] = getattr(container, field_name)  # type: ignore[index]
        if not probes:
            return None
        prober = Prober(target, probes, self._failed, self._changed)
        self._probers[target.container_id] = prober
        return prober

    def get(self, container_id: str) -> Prober | None:
        return self._probers.get(container_id)

    async def forget(self, container_id: str) -> None:
        prober = self._probers.pop(container_id, None)
        if prober is not None:
            await prober.stop()

    async def forget_all_but(self, keep: set[str]) -> None:
        for container_id in [c for c in self._probers if c not in keep]:
            await self.forget(container_id)
