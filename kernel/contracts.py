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
``register_api_services``  ``factory(context) -> service``  :class:`APIService`
``register_http_servers``  ``factory(context) -> server``   :class:`HTTPServer`
                                                            (context:
                                                            :class:`HTTPServerContext`)
=========================  ===============================  =========================
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    PreFilterResult,
    PreScorePlugin,
    ReservePlugin,
    SchedulerPlugin,
    ScorePlugin,
    Status,
)
from shoal.store.base import Store

if TYPE_CHECKING:
    from shoal.apiserver.connlimits import ConnectionLimits
    from shoal.apiserver.fairness import RequestLimits
    from shoal.apiserver.security import ServerSecurity
    from shoal.client import Client
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


@dataclass
class APIServiceContext:
    """What the API server hands an API service's factory: its object
    registry (``get``/``list`` of stored objects, no authorization: the
    service's own callers were authorized by its gRPC interceptors), the
    agent directory (``await node_stub(node_name)`` -> a link whose ``stub``
    is the node agent's ``shoal.v1.Streams``; ``link(node)`` the same for a
    Node already read) and the operator's options (the
    ``shoal server`` flags meant for plugins, e.g. ``metric_resolution``)."""

    registry: Any
    agents: Any
    options: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class APIService(Protocol):
    """A gRPC service served by the API server beside the object API (the
    resource metrics API, as Kubernetes aggregates metrics-server's).
    ``service_names`` are the full names reflection lists."""

    service_names: tuple[str, ...]

    def add_to_server(self, server: Any) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@runtime_checkable
class HTTPServer(Protocol):
    """An HTTP listener the API server runs beside its gRPC port (the REST
    gateway is one). ``start`` binds (the address is in the context it was
    made with) and returns once it serves; ``url`` is valid after ``start``;
    ``stop`` closes it and what it opened."""

    @property
    def url(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class HTTPServerContext:
    """What the API server hands an HTTP server's factory.

    ``client`` talks to this API server as the control plane does (its own
    identity when the server is secure; a server that acts for its callers
    makes its own client from ``security``). ``listen`` is ``HOST:PORT``
    (port 0: a free one). ``admin_config`` is the admin kubeconfig the server
    wrote, whose cluster is ``cluster``. ``security`` is the server's CA,
    certificates and authenticator, ``None`` when it runs ``--insecure``.
    ``limits`` and ``connections`` are the API server's own request and
    connection limits, for the listener to apply too."""

    client: Client
    listen: str
    admin_config: pathlib.Path
    security: ServerSecurity | None
    limits: RequestLimits
    connections: ConnectionLimits
    cluster: str = "shoal"


AdmissionPlugin = MutatingAdmission | ValidatingAdmission
StoreFactory = Callable[[Mapping[str, Any]], Store]
ControllerFactory = Callable[..., Controller]
RuntimeFactory = Callable[[Mapping[str, Any]], Runtime]
ProxyFactory = Callable[[Any, Mapping[str, Any]], Proxy]
APIServiceFactory = Callable[[APIServiceContext], APIService]
HTTPServerFactory = Callable[[HTTPServerContext], HTTPServer]

__all__ = [
    "APIService",
    "APIServiceContext",
    "APIServiceFactory",
    "AdmissionPlugin",
    "BindPlugin",
    "Controller",
    "ControllerFactory",
    "FilterPlugin",
    "HTTPServer",
    "HTTPServerContext",
    "HTTPServerFactory",
    "MutatingAdmission",
    "NormalizeScorePlugin",
    "PermitPlugin",
    "PostBindPlugin",
    "PostFilterPlugin",
    "PreBindPlugin",
    "PreFilterPlugin",
    "PreFilterResult",
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
