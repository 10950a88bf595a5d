"""``shoal.contracts``: the typed shape of everything a plugin registers.

One module a plugin author imports to type-check what they hand to a
``register_*`` hook; the registries are typed with these, and the scheduler
framework sorts its plugins by the Protocols they satisfy (not by
``hasattr``). Each is a ``typing.Protocol``: implement the methods, inherit
nothing.

=========================  ===============================  =========================
hook                       registers                        contract
=========================  ===============================  =========================
``register_stores``        ``factory(options) -> store``    :class:`Store`
``register_admission``     a plugin object                  :class:`MutatingAdmission`,
                                                            :class:`ValidatingAdmission`
``register_controllers``   ``factory(client) -> ctrl``      :class:`Controller`
``register_scheduler_      a plugin object                  :mod:`shoal.scheduling`
plugins``                                                   (PreFilter ... Bind)
``register_runtimes``      ``factory(options) -> runtime``  :class:`Runtime`
``register_proxies``       ``factory(client, options)``     :class:`Proxy`
=========================  ===============================  =========================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from shoal.runtime import Runtime
from shoal.scheduling import (
    BindPlugin,
    FilterPlugin,
    NormalizeScorePlugin,
    PermitPlugin,
    PostBindPlugin,
    PostFilterPlugin,
    PreBindPlugin,
    PreFilterPlugin,
    PreScorePlugin,
    ReservePlugin,
    SchedulerPlugin,
    ScorePlugin,
    Status,
)
from shoal.store.base import Store

if TYPE_CHECKING:
    from shoal.hookspecs import AdmissionRequest


@runtime_checkable
class Controller(Protocol):
    """A control loop. ``run`` returns when the loop is cancelled."""

    async def run(self) -> None: ...


@runtime_checkable
class MutatingAdmission(Protocol):
    """Changes ``request.object`` in place before it is stored (all mutations
    run before any validation)."""

    def mutate(self, request: AdmissionRequest) -> None: ...


@runtime_checkable
class ValidatingAdmission(Protocol):
    """Raises :class:`shoal.hookspecs.AdmissionError` to reject a write."""

    def validate(self, request: AdmissionRequest) -> None: ...


@runtime_checkable
class Proxy(Protocol):
    """A service proxy on a node; ``run`` returns when cancelled."""

    async def run(self) -> None: ...


AdmissionPlugin = MutatingAdmission | ValidatingAdmission
StoreFactory = Callable[[Mapping[str, Any]], Store]
ControllerFactory = Callable[..., Controller]
RuntimeFactory = Callable[[Mapping[str, Any]], Runtime]
ProxyFactory = Callable[[Any, Mapping[str, Any]], Proxy]

__all__ = [
    "AdmissionPlugin",
    "BindPlugin",
    "Controller",
    "ControllerFactory",
    "FilterPlugin",
    "MutatingAdmission",
    "NormalizeScorePlugin",
    "PermitPlugin",
    "PostBindPlugin",
    "PostFilterPlugin",
    "PreBindPlugin",
    "PreFilterPlugin",
    "PreScorePlugin",
    "Proxy",
    "ProxyFactory",
    "ReservePlugin",
    "Runtime",
    "RuntimeFactory",
    "SchedulerPlugin",
    "ScorePlugin",
    "Status",
    "Store",
    "StoreFactory",
    "ValidatingAdmission",
]
