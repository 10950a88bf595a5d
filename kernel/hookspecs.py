"""Every extension point of shoal, in one place.

A plugin is a module (or any object) with functions marked ``@hookimpl`` whose
names match the hooks below::

    from shoal import hookimpl

    @hookimpl
    def register_runtimes(registry):
        registry.register("docker", DockerRuntime)

Rules that hold for every hook here:

* Every hook is a "call every implementation" hook: each plugin that
  implements it is called, none wins over another (no hook here is
  ``firstresult``).
* Extension points are ``register_*`` hooks that receive a
  :class:`~shoal.registry.Registry`, so one plugin can offer several things.
  Registering the same name twice is an error naming both plugins.
* Hooks configure and register only. Hot paths (admission on every write, the
  scheduler's filter and score on every pod and node) call the *registered
  objects* directly, never a hook, so a hook's cost is paid once at startup.
* pluggy calls are synchronous. A hook that needs async work returns an
  awaitable and the caller awaits it; the ``register_*`` hooks below never
  need to, since they only hand objects to the registry.
* An implementation may accept fewer arguments than the hook offers (pluggy
  passes only those it names), so new arguments can be added to a hook
  without breaking existing plugins.

``docs/plugins.md`` documents each hook for plugin authors; a unit test fails
if a hook here is missing from it. The typed shape of what each hook
registers (``typing.Protocol``s) is in :mod:`shoal.contracts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pluggy
from shoal.contracts import (
    AdmissionPlugin,
    Controller,
    ControllerFactory,
    HTTPServerFactory,
    ProxyFactory,
    RuntimeFactory,
    SchedulerPlugin,
    StoreFactory,
)

if TYPE_CHECKING:
    import click
    from shoal.kinds import Kind
    from shoal.registry import Registry

hookspec = pluggy.HookspecMarker("shoal")

Operation = Literal["CREATE", "UPDATE", "DELETE"]


@dataclass
class AdmissionRequest:
    """What an admission plugin sees of one write, like Kubernetes'
    ``admission.Attributes``.

    ``object`` is the object as it will be stored (``None`` for DELETE);
    ``old_object`` is the stored object before the write (``None`` for
    CREATE). A mutating plugin changes ``object`` in place.
    """

    operation: Operation
    kind: str
    namespace: str
    name: str
    object: Any = None
    old_object: Any = None
    user: str = ""
    # The groups of the user (authentication's ``system:masters``, ...).
    groups: tuple[str, ...] = ()
    # Plugins may leave notes here for later plugins in the same chain.
    annotations: dict[str, str] = field(default_factory=dict)
    # What the plugin may read of the API server (a shoal.strategy.StorageContext:
    # ``await request.context.get(kind, namespace, name)``); None outside a server.
    context: Any = None


class AdmissionError(Exception):
    """Raised by ``validate`` (or ``mutate``) to reject a write; the message
    reaches the user unchanged, as a PERMISSION_DENIED or INVALID_ARGUMENT."""


__all__ = [
    "AdmissionError",
    "AdmissionRequest",
    "Controller",
    "ControllerFactory",
    "StoreFactory",
]


@hookspec
def register_stores(registry: Registry[StoreFactory]) -> None:
    """Offer store backends.

    Fires once when the API server chooses its store (``--store NAME``).

    :param registry: register ``name -> factory``; the factory is called as
        ``factory(options: dict) -> shoal.store.Store`` with the backend's
        options from the configuration (for SQLite ``{"path": ...}``, for
        etcd ``{"endpoints": [...]}``); ``shoal.testing.StoreContract``
        tests a backend.
    :returns: nothing; results are ignored.
    """


@hookspec
def register_admission(registry: Registry[AdmissionPlugin]) -> None:
    """Offer admission plugins, which see every write before it is stored.

    Fires once when the API server starts.

    :param registry: register ``name -> plugin`` where the plugin object has
        an optional ``mutate(request: AdmissionRequest) -> None`` (change
        ``request.object`` in place, e.g. default a field) and an optional
        ``validate(request: AdmissionRequest) -> None`` (raise
        :class:`AdmissionError` to reject): the Protocols
        :class:`shoal.contracts.MutatingAdmission` and
        :class:`~shoal.contracts.ValidatingAdmission`. All mutations run
        before any validation.
    :returns: nothing; results are ignored.
    """


@hookspec
def register_controllers(registry: Registry[ControllerFactory]) -> None:
    """Offer controllers (control loops such as ReplicaSetController).

    Fires once when the controller manager starts (in ``shoal server`` or in
    its own process).

    :param registry: register ``name -> factory``; the factory is called as
        ``factory(client) -> controller`` with a :mod:`shoal.client` client
        (``factory(client, options=...)`` if it takes ``options``), and the
        controller has ``async def run(self) -> None``
        (:class:`shoal.contracts.Controller`). Controllers talk only to the
        API through the client, never to the store, and read kinds through
        ``shoal.client.shared_informers(client)`` so a process watches each
        kind once.
    :returns: nothing; results are ignored.
    """


@hookspec
def register_scheduler_plugins(registry: Registry[SchedulerPlugin]) -> None:
    """Offer scheduler plugins (filters, scores, and the other extension
    points of kube-scheduler's framework).

    Fires once when the scheduler starts.

    :param registry: register ``name -> plugin``. The plugin takes part in
        every extension point whose Protocol in :mod:`shoal.scheduling` it
        satisfies: ``pre_filter``, ``filter(pod, node, state) -> str | None``
        (``None`` if the pod fits the node, else the reason it does not,
        shown in the pod's FailedScheduling event), ``post_filter``,
        ``pre_score``, ``score(pod, node, state) -> int`` (0 to 100, higher
        is better; an optional ``weight`` attribute, default 1, multiplies
        it), ``reserve``/``unreserve``, ``permit``, ``pre_bind``, ``bind``
        and ``post_bind``, each answering with a ``shoal.scheduling.Status``.
        ``state`` is a dict shared by all plugins for one pod. The order and
        weights come from the scheduler profile (``--scheduler-config``);
        by default, registration order.
    :returns: nothing; results are ignored.
    """


@hookspec
def register_runtimes(registry: Registry[RuntimeFactory]) -> None:
    """Offer container runtimes (docker, podman, fake).

    Fires once when the agent starts and picks its runtime (``--runtime``).

    :param registry: register ``name -> factory``; the factory is called as
        ``factory(options: dict) -> runtime`` and the runtime implements the
        CRI-like contract :class:`shoal.runtime.Runtime` (ensure image, run
        pod sandbox, create/start/stop/remove container, status, logs, exec,
        port-forward); ``shoal.testing.RuntimeContract`` tests it.
    :returns: nothing; results are ignored.
    """


@hookspec
def register_proxies(registry: Registry[ProxyFactory]) -> None:
    """Offer service proxies, which forward ClusterIP and NodePort traffic
    to the ready endpoints of a Service.

    Fires once when the agent starts its proxy (``--proxy``).

    :param registry: register ``name -> factory``; the factory is called as
        ``factory(client, options: dict) -> proxy`` and the proxy has
        ``async def run(self) -> None``.
    :returns: nothing; results are ignored.
    """


@hookspec
def register_http_servers(registry: Registry[HTTPServerFactory]) -> None:
    """Offer HTTP servers for ``shoal server`` to run beside its gRPC port
    (the Kubernetes REST gateway is one: ``--http-listen`` runs ``gateway``).

    Fires once when ``shoal server`` starts, before it opens its store; only
    the servers asked for (``--http-listen``, ``--http-server NAME=HOST:PORT``)
    are made.

    :param registry: register ``name -> factory``; once the API server
        serves, it calls ``factory(context) -> server`` with a
        :class:`shoal.contracts.HTTPServerContext` (a client of this API
        server, the listen address, the admin kubeconfig, the server's
        security or ``None``, its request and connection limits), then
        ``await server.start()``; on shutdown ``await server.stop()``, after
        the control plane and before the gRPC listener. The server is a
        :class:`shoal.contracts.HTTPServer` (``url``, ``start``, ``stop``).
    :returns: nothing; results are ignored.
    """


@hookspec
def register_ctl_commands(cli: click.Group) -> None:
    """Add commands to the ``shoal`` command line.

    Fires once when ``shoal`` starts, before the arguments are parsed.

    :param cli: the top-level click group; call ``cli.add_command(cmd)``.
        A name that an earlier command already uses is replaced, so choose
        names that do not collide with built-in verbs.
    :returns: nothing; results are ignored.
    """


@hookspec
def register_kinds(registry: Registry[Kind]) -> None:
    """Offer object kinds for the API server to serve, with the strategy
    that says how it treats them. Kubernetes' own kinds come through this
    hook too (``shoal.plugins.kinds.core``, ``apps``, ``rbac``, ...).

    Fires once per process, on the first kind lookup (the API server's
    start, a ``shoal`` command naming a kind).

    :param registry: register ``kind.resource -> Kind`` (for example
        ``registry.register("cronjobs.batch", Kind("CronJob", "batch/v1",
        "cronjobs", "cronjob", ("cj",), True, batch_pb2.CronJob, True,
        CronJobStrategy()))``). ``Kind.message`` is a generated protobuf
        class with ``api_version``, ``kind`` and ``metadata`` fields (and
        ``spec``/``status`` as the kind has them); ``Kind.strategy`` is a
        :class:`shoal.strategy.Strategy` (defaulting, validation, what an
        update may change, deletion, side effects, table columns);
        ``shoal.testing.StrategyContract`` tests one. Every name (kind,
        plural, singular, short names) must be new.
    :returns: nothing; results are ignored.
    """
