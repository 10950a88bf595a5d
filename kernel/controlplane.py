"""The control-plane host: runs the controllers that plugins register
(``register_controllers``), each group under leader election if asked.

It talks to the API only through a :class:`shoal.client.Client`, so it runs
the same inside ``shoal server`` (over the loopback port) as in its own
process (``shoal controller-manager``).

Controllers share one Lease per group, as in Kubernetes: the scheduler holds
``shoal-scheduler`` and every other controller ``shoal-controller-manager``.
A factory says which group it belongs to with a ``lease_name`` attribute.
A factory that accepts an ``options`` keyword receives the control plane's
options (``node_monitor_grace_period``...), others are called ``factory(client)``.

Every controller gets its informers from ``shared_informers(client)``, so
the whole control plane in one process holds one informer (one watch, one
cache) per kind. The handlers a controller adds while it is built are
removed when it ends, so a controller restarted after a crash or a lost
election does not leave its predecessor's handlers on the shared informers.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from shoal import plugin_manager
from shoal.client.listener import HandlerRegistration, collect_registrations
from shoal.leaderelection import LeaderElectionConfig, LeaderElector, default_identity

log = structlog.get_logger("controlplane")

CONTROLLER_MANAGER_LEASE = "shoal-controller-manager"
SCHEDULER_LEASE = "shoal-scheduler"


class ControlPlaneError(ValueError):
    """Bad control-plane configuration (an unknown controller name...)."""


@dataclass
class ControlPlaneOptions:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    node_monitor_grace_period: float = 40.0
    # Terminated pods kept before the oldest are deleted (podgc); 0 keeps all.
    terminated_pod_gc_threshold: int = 12500
    # Seconds before a crashed controller is started again (doubling, capped).
    restart_backoff: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "node_monitor_grace_period": self.node_monitor_grace_period,
            "terminated_pod_gc_threshold": self.terminated_pod_gc_threshold,
            **self.extra,
        }


def select_controllers(available: Iterable[str], names: Sequence[str] | str | None) -> list[str]:
    """Kubernetes' ``--controllers`` rule: ``*`` (or None) is every one,
    ``-`` none, ``-name`` removes one from ``*``; unknown names are an error."""
    known = list(available)
    if names is None:
        return known
    items = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    items = [n for n in items if n]
    if items == ["-"]:
        return []
    unknown = sorted({n.lstrip("-") for n in items} - set(known) - {"*"})
    if unknown:
        raise ControlPlaneError(
            f"unknown controller(s) {', '.join(unknown)}; available: {', '.join(known) or 'none'}"
        )
    chosen = list(known) if "*" in items else [n for n in items if not n.startswith("-")]
    removed = {n[1:] for n in items if n.startswith("-")}
    return [n for n in known if n in chosen and n not in removed]


def lease_name_of(factory: Any) -> str:
    return str(getattr(factory, "lease_name", CONTROLLER_MANAGER_LEASE))


def make_controller(
    factory: Any, client: Any, options: ControlPlaneOptions
) -> tuple[Any, list[HandlerRegistration]]:
    """The controller, and the informer handlers it added while being built."""
    with collect_registrations() as registrations:
        return _call_factory(factory, client, options), registrations


def _call_factory(factory: Any, client: Any, options: ControlPlaneOptions) -> Any:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if "options" in params:
        return factory(client, options=options.as_dict())
    return factory(client)


async def run_controller(
    name: str, factory: Any, client: Any, options: ControlPlaneOptions
) -> None:
    """Run one controller until cancelled, starting it again (with backoff)
    if it crashes: one broken plugin must not stop the others."""
    delay = options.restart_backoff
    while True:
        registrations: list[HandlerRegistration] = []
        try:
            controller, registrations = make_controller(factory, client, options)
            log.info("starting controller", controller=name)
            await controller.run()
            log.info("controller returned", controller=name)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("controller crashed; restarting", controller=name, retry_in=delay)
        finally:
            for registration in registrations:
                registration.remove()
        await asyncio.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 60.0)


async def run_all(coros: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run every coroutine until all return; when cancelled, wait for each to
    finish its cleanup (``gather`` would return at the first one done)."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


async def _run_group(
    controllers: list[tuple[str, Any]], client: Any, options: ControlPlaneOptions
) -> None:
    await run_all(run_controller(n, f, client, options) for n, f in controllers)


async def _lead_group(
    lease: str,
    controllers: list[tuple[str, Any]],
    client: Any,
    identity: str,
    options: ControlPlaneOptions,
) -> None:
    """Stand for election again whenever leadership is lost."""
    config = LeaderElectionConfig(
        name=lease,
        identity=identity,
        lease_duration=options.lease_duration,
        renew_deadline=options.renew_deadline,
        retry_period=options.retry_period,
    )
    while True:
        elector = LeaderElector(client, config)
        try:
            await elector.run(lambda: _run_group(controllers, client, options))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("controller group failed", lease=lease)
        log.info("lost leadership; standing again", lease=lease, identity=identity)
        await asyncio.sleep(options.retry_period)


async def run_control_plane(
    client: Any,
    names: Sequence[str] | str | None = None,
    *,
    leader_elect: bool = True,
    identity: str | None = None,
    options: ControlPlaneOptions | None = None,
    registry: Any = None,
) -> None:
    """Run the chosen controllers until cancelled."""
    options = options or ControlPlaneOptions()
    registry = registry if registry is not None else plugin_manager.controllers()
    chosen = select_controllers(registry.names(), names)
    groups: dict[str, list[tuple[str, Any]]] = {}
    for name in chosen:
        factory = registry.get(name)
        groups.setdefault(lease_name_of(factory), []).append((name, factory))
    log.info("control plane starting", controllers=chosen, leader_elect=leader_elect)
    identity = identity or default_identity()
    if leader_elect:
        runs = [_lead_group(lease, c, client, identity, options) for lease, c in groups.items()]
    else:
        runs = [_run_group(c, client, options) for c in groups.values()]
    await run_all(runs)


class ControlPlane:
    """``run_control_plane`` as a background task: ``start()`` / ``stop()``."""

    def __init__(self, client: Any, names: Sequence[str] | str | None = None, **kwargs: Any):
        self.client, self.names, self.kwargs = client, names, kwargs
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # Resolve names now so a bad --controllers fails before serving.
        registry = self.kwargs.setdefault("registry", plugin_manager.controllers())
        select_controllers(registry.names(), self.names)
        coro = run_control_plane(self.client, self.names, **self.kwargs)
        self._task = asyncio.create_task(coro, name="control-plane")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
