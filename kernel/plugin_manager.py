"""The plugin manager: which plugins load, from where, and the registries
their ``register_*`` hooks fill.

Built-in plugins load from :data:`DEFAULT_PLUGINS` exactly as third-party
ones do from the ``shoal`` entry-point group. Two environment variables give
operators control (names are plugin names as ``shoal plugins`` shows them; a
built-in also answers to its full module name, a third-party plugin to its
distribution name):

* ``SHOAL_PLUGINS=sqlite,docker`` loads only those (unset: all; empty: none).
* ``SHOAL_DISABLE_PLUGINS=podman`` loads all but those.

A plugin that is not allowed is never imported. A plugin that fails to
import or to register is logged and shown as failed by :func:`plugin_info`,
and the rest carry on: one broken third-party package must not stop a
cluster.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.metadata
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pluggy
import structlog
from shoal import contracts, hookspecs
from shoal.registry import Registry, RegistryError

if TYPE_CHECKING:
    import click
    from shoal.kinds import Kind

log = structlog.get_logger().bind(component="plugins")

ENTRY_POINT_GROUP = "shoal"

# Module names of the built-in plugins, in load order. Append yours here.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "shoal.plugins.kinds.core",
    "shoal.plugins.kinds.apps",
    "shoal.plugins.kinds.rbac",
    "shoal.plugins.kinds.coordination",
    "shoal.plugins.kinds.autoscaling",
    "shoal.plugins.kinds.batch",
    "shoal.plugins.kinds.scheduling",
    "shoal.plugins.kinds.policy",
    "shoal.plugins.kinds.storage",
    "shoal.plugins.kinds.apiextensions",
    "shoal.plugins.stores.sqlite",
    "shoal.plugins.stores.etcd",
    "shoal.plugins.controllers.replication",
    "shoal.plugins.controllers.deployment",
    "shoal.plugins.controllers.daemonset",
    "shoal.plugins.controllers.statefulset",
    "shoal.plugins.controllers.job",
    "shoal.plugins.controllers.cronjob",
    "shoal.plugins.controllers.garbagecollector",
    "shoal.plugins.controllers.namespace",
    "shoal.plugins.runtimes.docker",
    "shoal.plugins.runtimes.podman",
    "shoal.plugins.scheduler.default_scheduler",
    "shoal.plugins.controllers.nodelifecycle",
    "shoal.plugins.controllers.podgc",
    "shoal.plugins.runtimes.fake",
    "shoal.plugins.controllers.endpoints",
    "shoal.plugins.controllers.serviceaccounts",
    "shoal.plugins.controllers.disruption",
    "shoal.plugins.controllers.persistentvolume",
    "shoal.plugins.controllers.horizontalpodautoscaler",
    "shoal.plugins.proxy.serviceproxy",
    "shoal.plugins.gateway",
    "shoal.plugins.metrics",
    "shoal.plugins.dashboard",
    "shoal.plugins.simulate",
)

# Kubernetes' own kinds: an allow-list (SHOAL_PLUGINS) keeps them, since no
# server works without them; only SHOAL_DISABLE_PLUGINS can drop one.
REQUIRED_PLUGINS: frozenset[str] = frozenset(
    {
        "core",
        "apps",
        "rbac",
        "coordination",
        "batch",
        "scheduling",
        "policy",
        "storage",
        "apiextensions",
        "autoscaling",
    }
)

Status = Literal["loaded", "failed", "disabled"]


class PluginError(Exception):
    """A plugin misbehaved inside a hook; the message names the plugin."""


@dataclass
class PluginRecord:
    """What ``shoal plugins`` shows about one plugin."""

    name: str
    source: str  # "builtin", "<distribution> <version>", or "runtime"
    module: str
    status: Status = "loaded"
    hooks: list[str] = field(default_factory=list)
    error: str | None = None


class ShoalPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers failed and disabled plugins."""

    def __init__(self) -> None:
        super().__init__("shoal")
        self.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}


@dataclass(frozen=True)
class PluginFilter:
    """The allow-list and block-list from the environment."""

    allow: frozenset[str] | None
    block: frozenset[str]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PluginFilter:
        allow = env.get("SHOAL_PLUGINS")
        return cls(
            allow=None if allow is None else _split_names(allow),
            block=_split_names(env.get("SHOAL_DISABLE_PLUGINS", "")),
        )

    def allows(self, *names: str) -> bool:
        """Whether a plugin known by any of ``names`` may load."""
        if self.block.intersection(names):
            return False
        if self.allow is None or REQUIRED_PLUGINS.intersection(names):
            return True
        return bool(self.allow.intersection(names))


def _split_names(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def builtin_name(module: str) -> str:
    """A built-in plugin's name: the last part of its module name."""
    return module.rsplit(".", 1)[-1]


def build_plugin_manager(
    env: Mapping[str, str] | None = None,
    builtins: Iterable[str] = DEFAULT_PLUGINS,
) -> ShoalPluginManager:
    """A fresh manager with the built-in and entry-point plugins the
    environment allows. Most code wants :func:`get_plugin_manager`."""
    pm = ShoalPluginManager()
    allowed = PluginFilter.from_env(os.environ if env is None else env)
    for module in builtins:
        name = builtin_name(module)
        if not allowed.allows(name, module):
            _record(pm, PluginRecord(name, "builtin", module, status="disabled"))
            continue
        _load(pm, name, "builtin", module, lambda m=module: importlib.import_module(m))
    for ep, dist, version in iter_entry_points():
        source = f"{dist} {version}" if dist else "unknown distribution"
        if not allowed.allows(ep.name, dist):
            _record(pm, PluginRecord(ep.name, source, ep.module, status="disabled"))
        elif pm.has_plugin(ep.name):
            log.warning("plugin name taken; entry point ignored", plugin=ep.name, source=source)
        else:
            _load(pm, ep.name, source, ep.module, ep.load)
    return pm


def iter_entry_points() -> Iterator[tuple[importlib.metadata.EntryPoint, str, str]]:
    """``(entry point, distribution name, version)`` for the ``shoal`` group.

    A function of its own so tests can substitute fake entry points.
    """
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        yield ep, (dist.name if dist else ""), (dist.version if dist else "")


def _load(pm: ShoalPluginManager, name: str, source: str, module: str, load: Any) -> None:
    try:
        plugin = load()
    except Exception as exc:
        _fail(pm, PluginRecord(name, source, module), exc)
        return
    try:
        pm.register(plugin, name=name)
        _check_hook_names(pm, plugin)
    except Exception as exc:
        if pm.is_registered(plugin):
            pm.unregister(plugin)
        _fail(pm, PluginRecord(name, source, module), exc)
        return
    _record(pm, PluginRecord(name, source, module, hooks=_hook_names(pm, plugin)))


def _fail(pm: ShoalPluginManager, record: PluginRecord, exc: Exception) -> None:
    record.status, record.error = "failed", f"{type(exc).__name__}: {exc}"
    log.error("plugin failed to load", plugin=record.name, source=record.source, error=record.error)
    _record(pm, record)


def _check_hook_names(pm: ShoalPluginManager, plugin: object) -> None:
    # pluggy accepts an implementation of a hook that does not exist (to allow
    # optional hooks); for us that is nearly always a typo worth failing on.
    specs = [name for name in dir(hookspecs) if name.startswith("register_")]
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.spec is None and not _all_optional(caller, plugin):
            hint = difflib.get_close_matches(caller.name, specs, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise PluginError(f"implements unknown hook {caller.name!r}{suggestion}")


def _all_optional(caller: pluggy.HookCaller, plugin: object) -> bool:
    impls = [impl for impl in caller.get_hookimpls() if impl.plugin is plugin]
    return all(impl.optionalhook for impl in impls)


def _hook_names(pm: ShoalPluginManager, plugin: object) -> list[str]:
    return sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])


def _record(pm: ShoalPluginManager, record: PluginRecord) -> None:
    pm.records[record.name] = record


@functools.cache
def get_plugin_manager() -> ShoalPluginManager:
    """The process-wide plugin manager, built on first use."""
    return build_plugin_manager()


def reset_plugin_manager() -> None:
    """Forget the cached manager (tests, or after changing the environment)."""
    get_plugin_manager.cache_clear()


def plugin_info(pm: ShoalPluginManager | None = None) -> list[dict[str, Any]]:
    """One dict per plugin known to the manager, loaded or not: ``name``,
    ``source``, ``module``, ``status`` (loaded, failed, disabled), ``hooks``
    and ``error``. Plugins registered by hand (``pm.register``) are included
    with source ``runtime``."""
    pm = pm or get_plugin_manager()
    records = dict(pm.records)
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        record = records.get(name)
        if record is None or record.status != "loaded":
            module = getattr(plugin, "__name__", type(plugin).__module__)
            record = PluginRecord(name, "runtime", module)
        record.hooks = _hook_names(pm, plugin)
        records[name] = record
    return [asdict(record) for record in records.values()]


def collect(
    hook_name: str, what: str, pm: ShoalPluginManager | None = None, *, load_order: bool = False
) -> Registry[Any]:
    """Call ``register_*`` hook ``hook_name`` once into a fresh registry.

    Each implementation is called on its own, in pluggy's order (or, with
    ``load_order``, in the order the plugins loaded), so that the registry
    knows which plugin registered which name.
    """
    pm = pm or get_plugin_manager()
    registry: Registry[Any] = Registry(what)
    caller = getattr(pm.hook, hook_name)
    impls = caller.get_hookimpls()
    if any(impl.hookwrapper or impl.wrapper for impl in impls):
        # Wrappers need pluggy's own call loop; names then go unattributed.
        caller(registry=registry)
        return registry
    for impl in impls if load_order else reversed(impls):  # pluggy: the last loaded first
        with registry.plugin(impl.plugin_name):
            _call_impl(impl, hook_name, registry=registry)
    return registry


def _call_impl(impl: pluggy.HookImpl, hook_name: str, **kwargs: Any) -> None:
    try:
        impl.function(*[kwargs[arg] for arg in impl.argnames])
    except (PluginError, RegistryError):
        raise
    except Exception as exc:
        raise PluginError(f"plugin {impl.plugin_name!r} failed in {hook_name}: {exc}") from exc


def stores(pm: ShoalPluginManager | None = None) -> Registry[contracts.StoreFactory]:
    """Store backends: name -> ``factory(options) -> Store``."""
    return collect("register_stores", "store", pm)


def admission(pm: ShoalPluginManager | None = None) -> Registry[contracts.AdmissionPlugin]:
    """Admission plugins: name -> object with ``mutate``/``validate``."""
    return collect("register_admission", "admission plugin", pm)


def controllers(pm: ShoalPluginManager | None = None) -> Registry[contracts.ControllerFactory]:
    """Controllers: name -> ``factory(client) -> controller``."""
    return collect("register_controllers", "controller", pm)


def scheduler_plugins(
    pm: ShoalPluginManager | None = None,
) -> Registry[contracts.SchedulerPlugin]:
    """Scheduler plugins: name -> object with any of the extension points of
    :mod:`shoal.scheduling` (``filter``, ``score``, ``reserve``...)."""
    return collect("register_scheduler_plugins", "scheduler plugin", pm)


def runtimes(pm: ShoalPluginManager | None = None) -> Registry[contracts.RuntimeFactory]:
    """Container runtimes: name -> ``factory(options) -> runtime``."""
    return collect("register_runtimes", "runtime", pm)


def http_servers(pm: ShoalPluginManager | None = None) -> Registry[contracts.HTTPServerFactory]:
    """HTTP servers: name -> ``factory(context) -> server`` (``gateway``...)."""
    return collect("register_http_servers", "HTTP server", pm)


def proxies(pm: ShoalPluginManager | None = None) -> Registry[contracts.ProxyFactory]:
    """Service proxies: name -> ``factory(client, options) -> proxy``."""
    return collect("register_proxies", "proxy", pm)


def api_services(
    pm: ShoalPluginManager | None = None,
) -> Registry[contracts.APIServiceFactory]:
    """Services the API server serves beside the object API: name -> ``factory(context)``."""
    return collect("register_api_services", "API service", pm)


def kinds(pm: ShoalPluginManager | None = None) -> Registry[Kind]:
    """Object kinds: resource ("deployments.apps") -> :class:`~shoal.kinds.Kind`.
    Most code wants :mod:`shoal.kinds`, which loads these on first use."""
    return collect("register_kinds", "kind", pm, load_order=True)


def add_ctl_commands(cli: click.Group, pm: ShoalPluginManager | None = None) -> None:
    """Let plugins add their commands to the ``shoal`` click group."""
    (pm or get_plugin_manager()).hook.register_ctl_commands(cli=cli)
