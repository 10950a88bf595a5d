"""Strategies: how the API server treats the objects of one kind.

In the spirit of Kubernetes' ``registry/rest`` strategies. The API server's
generic paths (create, update, patch, apply, delete) call the kind's
strategy at fixed points and never name a kind: a kind registered by a
plugin through ``register_kinds`` is served exactly like a built-in one.

The order of a create::

    prepare_for_create -> default -> (admission) -> validate -> before_create
    -> reserve -> store -> after_create

of an update (update, patch, apply; a status write calls
``prepare_for_status_update`` instead of ``prepare_for_update`` and ``default``)::

    prepare_for_update -> default -> (admission) -> validate -> validate_update
    -> before_update -> reserve -> store (commit or rollback) -> after_update

of a delete::

    check_delete -> (admission) -> grace_period, ready_to_delete -> mark_terminating
    or remove -> released -> after_delete

Every method has a default that suits a plain stored kind (a ConfigMap),
so a strategy overrides only what its kind needs. Strategies are shared by
every API server in a process: keep per-server state in the
:class:`StorageContext` (``context.extensions``), never on the strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from shoal import validation
from shoal.age import age

# Each problem is a (field path, message) pair: ("spec.replicas", "Invalid value: -1: ...").
Causes = list[tuple[str, str]]
# A table printer: (object as Kubernetes JSON dict, now as epoch seconds) -> cells.
Cells = Callable[[dict[str, Any], float], list[str]]


@dataclass(frozen=True)
class Table:
    """The columns ``shoal get`` and the gateway's Table responses (kubectl
    get) print for a kind after NAME; ``wide_*`` are the extra ``-o wide``
    columns. ``name_wide``: kubectl shows NAME only with ``-o wide`` (events,
    read by their object); ``shoal get`` leaves it out. ``name``: the NAME
    cell when a kind prints more than its name (object, name) -> cell, as
    Kubernetes prints the default StorageClass "standard (default)"."""

    headers: Sequence[str]
    cells: Cells
    wide_headers: Sequence[str] = ()
    wide_cells: Cells | None = None
    name_wide: bool = False
    name: Callable[[dict[str, Any], str], str] | None = None

    def name_cell(self, obj: dict[str, Any], name: str) -> str:
        """The NAME cell of ``obj``, whose name is printed as ``name``."""
        return name if self.name is None else self.name(obj, name)


def _age_cells(obj: dict[str, Any], now: float) -> list[str]:
    return [age((obj.get("metadata") or {}).get("creationTimestamp", ""), now)]


# The table of a kind whose strategy has none: NAME and AGE.
AGE_TABLE = Table(["AGE"], _age_cells)


@dataclass(frozen=True)
class ScaleSubresource:
    """Where a scalable kind keeps its replicas, as a CRD's ``scale``
    subresource says it: JSON paths in the object (``.spec.replicas``).
    The scale subresource (``kubectl scale``, ``shoal scale``) reads and
    writes them. The selector path names a string (a CRD's serialized
    selector) or, for Kubernetes' workloads, the spec's LabelSelector or
    map of labels, which the Scale's ``status.selector`` prints."""

    spec_replicas_path: str = ".spec.replicas"
    status_replicas_path: str = ".status.replicas"
    label_selector_path: str = ".status.selector"

    def replicas(self, obj: dict[str, Any]) -> int:
        """The wanted replicas of an object (Kubernetes JSON), 0 when unset."""
        return _int(_at(obj, self.spec_replicas_path))

    def status_replicas(self, obj: dict[str, Any]) -> int:
        return _int(_at(obj, self.status_replicas_path))

    def selector(self, obj: dict[str, Any]) -> str:
        """The label selector as a string (``app=web``): the string at the
        path, or a LabelSelector's matchLabels, or a map of labels."""
        found = _at(obj, self.label_selector_path)
        if isinstance(found, str):
            return found
        if not isinstance(found, dict):
            return ""
        labels = found
        if not all(isinstance(v, str) for v in found.values()):  # a LabelSelector
            labels = found.get("matchLabels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def replicas_patch(self, replicas: int) -> dict[str, Any]:
        """A merge patch that sets the wanted replicas."""
        patch: Any = replicas
        for key in reversed(_steps(self.spec_replicas_path)):
            patch = {key: patch}
        return dict(patch)


def _steps(path: str) -> list[str]:
    return [step for step in path.split(".") if step]


def _at(obj: Any, path: str) -> Any:
    for step in _steps(path):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(step)
    return obj


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class Conversion:
    """How a kind served at a version other than the one its objects are
    stored in is converted (Kubernetes' conversion functions): the
    autoscaling/v1 HorizontalPodAutoscaler is a view of the one stored
    autoscaling/v2 object. The API server decodes a stored object as
    ``storage`` and gives ``from_storage(stored)`` to this version's
    readers and watchers; it stores ``to_storage(obj)`` of what this
    version's writers send, after this version's defaulting and
    validation. Both functions take and return whole objects (metadata
    included, ``resourceVersion`` aside) and must round-trip what this
    version can say, keeping the rest (in annotations, as Kubernetes does)
    so that an update through this version loses nothing. The version
    objects are stored in must be registered first (it is the preferred one)."""

    storage: type[Any]
    to_storage: Callable[[Any], Any]
    from_storage: Callable[[Any], Any]


class Reservation(Protocol):
    """Something a write took before it was stored (a ClusterIP, a node
    port): ``commit`` once the write is stored, ``rollback`` otherwise."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class StorageContext(Protocol):
    """What a strategy may use of the API server that calls it: the object
    registry's reads and writes, and per-server state.

    ``extensions`` holds per-server helpers (``"services"``: the ClusterIP
    and node port allocator; ``"service_accounts"``: token admission) and
    any state a strategy keeps, under a key of its own."""

    extensions: dict[str, Any]
    # The store under the registry, for a strategy's own StoreCache (read only).
    store: Any

    async def get(self, kind: Any, namespace: str, name: str) -> Any: ...

    async def list(self, kind: Any, namespace: str = "", **options: Any) -> Any: ...

    async def create(self, obj: Any, *, dry_run: bool = False, user: str = "") -> Any: ...

    async def delete(
        self, kind: Any, namespace: str, name: str, options: Any = None, *, user: str = ""
    ) -> Any:
        """Delete as a client's delete does (``options``: the object registry's
        DeleteOptions: grace period, propagation, preconditions, dry run)."""
        ...

    async def guaranteed_update(
        self,
        kind: Any,
        namespace: str,
        name: str,
        mutate: Callable[[Any], Any],
        precondition: str = "",
        *,
        dry_run: bool = False,
        user: str = "",
    ) -> Any:
        """Read, ``mutate`` (old -> new), write if unchanged since the read."""
        ...


class Strategy:
    """The default strategy: a namespaced or cluster object with no rules
    beyond its metadata. Subclass and override what your kind needs."""

    # kubectl's categories ("all" puts the kind in ``kubectl get all``).
    categories: tuple[str, ...] = ()
    # The scale subresource (``kubectl scale``), or None.
    scale: ScaleSubresource | None = None
    # Columns for tables; None prints NAME and AGE.
    table: Table | None = None
    # Subresources served by other means than the object store (a pod's
    # "log", "exec", "attach", "portforward", "proxy"): listed in discovery,
    # routed by the gateway to the handler of that name.
    connect_subresources: tuple[str, ...] = ()
    # The fields a field selector may name besides metadata.name and
    # metadata.namespace: "spec.nodeName" -> (object -> the value as text).
    selectable_fields: Mapping[str, Callable[[Any], str]] = MappingProxyType({})
    # For a kind that is a subresource of another, as authorization sees
    # it: (the other's plural, the subresource); a Binding is pods/binding.
    subresource_of: tuple[str, str] | None = None
    # False for kinds that are never stored (a Binding is applied to its pod):
    # a create then goes to :meth:`create_unstored`.
    stored: bool = True
    # Whether a create's status is cleared (controllers and agents own it).
    reset_status_on_create: bool = False
    # The kind's OpenAPI v3 schema when its message does not describe it (a
    # custom object's, from its CustomResourceDefinition): what the gateway
    # publishes for ``kubectl explain``. None: built from the message.
    openapi_schema: dict[str, Any] | None = None
    # For a kind served at a second version whose objects are stored as
    # another version's message: how to convert (see :class:`Conversion`).
    conversion: Conversion | None = None

    # -- names -----------------------------------------------------------------

    def validate_name(self, name: str) -> list[str]:
        """Problems with an object's name: a DNS-1123 subdomain by default."""
        return validation.validate_dns1123_subdomain(name)

    # -- create and update -------------------------------------------------------

    def prepare_for_create(self, obj: Any) -> None:
        """Set what a new object starts with (a namespace's finalizer);
        server-owned metadata and the reset status are already handled."""

    def prepare_for_update(self, old: Any, new: Any) -> None:
        """Keep what an update of the main resource may not touch (the
        status is already carried over for kinds with a status)."""

    def prepare_for_status_update(self, old: Any, new: Any) -> None:
        """A status write (``new`` is ``old`` with the new status): clean the
        status up (a custom object's unknown status fields are pruned)."""

    def default(self, obj: Any) -> None:
        """Fill in what a user may leave out, on create and every update."""

    def redact_history(self, obj: Any, mark: Callable[[bytes], bytes]) -> None:
        """Hide values from an old revision served by object history (the
        object is a copy; change it in place). ``mark(value)`` gives a
        stand-in that differs when the value differs but does not reveal it,
        so a history still shows *that* a value changed. Default: nothing."""

    def validate(self, obj: Any) -> Causes:
        """Problems with the object's own fields (metadata is checked generically)."""
        return []

    def validate_update(self, old: Any, new: Any) -> Causes:
        """Problems with the change: fields that are immutable once set."""
        return []

    async def before_create(self, context: StorageContext, obj: Any) -> None:
        """Admit side effects before a create is stored (a pod's service
        account token volume); raise an :mod:`shoal.errors` error to refuse."""

    async def before_update(self, context: StorageContext, old: Any, new: Any) -> None:
        """Check an update against other objects before it is stored (a
        claim may grow only if its StorageClass allows expansion); raise an
        :mod:`shoal.errors` error to refuse."""

    def reserve(self, context: StorageContext, old: Any | None, new: Any) -> Reservation | None:
        """Take what the write needs (``old`` is None on create); the API
        server commits or rolls back the reservation after the write."""
        return None

    async def after_create(self, context: StorageContext, obj: Any) -> None:
        """Side effects once a create is stored (a namespace's default
        ServiceAccount)."""

    async def create_unstored(
        self, context: StorageContext, obj: Any, *, dry_run: bool, user: str
    ) -> Any:
        """The create of a kind that is never stored (``stored = False``)."""
        raise NotImplementedError

    async def after_update(self, context: StorageContext, old: Any, new: Any) -> None:
        """Side effects once an update (update, status, patch, apply) is
        stored and changed something (a CustomResourceDefinition re-registers
        its kinds)."""

    # -- delete ----------------------------------------------------------------

    def check_delete(self, obj: Any) -> None:
        """Refuse a delete outright (raise ``errors.ForbiddenError``)."""

    def grace_period(self, obj: Any, asked: int | None) -> int:
        """Seconds the object lingers, marked, before it goes (a pod's
        termination grace period); 0 removes it at once."""
        return 0

    def ready_to_delete(self, obj: Any) -> bool:
        """Whether a marked object with no metadata finalizers may go (a
        namespace waits for its ``spec.finalizers``, a pod for its agent)."""
        return True

    def mark_terminating(self, obj: Any) -> None:
        """Change a marked object as its deletion starts (a namespace's phase)."""

    def released(self, context: StorageContext, obj: Any) -> None:
        """Give back what a removed object held (its ClusterIP)."""

    async def after_delete(self, context: StorageContext, obj: Any) -> None:
        """Side effects once a delete request is stored: ``obj`` is gone, or
        marked (``metadata.deletionTimestamp``) and held by its finalizers
        (a CustomResourceDefinition starts deleting its objects)."""

    # -- lifecycle ---------------------------------------------------------------

    async def start(self, context: StorageContext) -> None:
        """Once per API server, before it serves: rebuild per-server state
        from what is stored (the allocated ClusterIPs)."""

    async def stop(self, context: StorageContext) -> None:
        """When the API server stops."""


DEFAULT_STRATEGY = Strategy()


def table_of(strategy: Strategy) -> Table:
    """The strategy's table, or NAME and AGE for a kind without one."""
    return strategy.table or AGE_TABLE


__all__ = [
    "AGE_TABLE",
    "DEFAULT_STRATEGY",
    "Causes",
    "Cells",
    "Conversion",
    "Reservation",
    "ScaleSubresource",
    "StorageContext",
    "Strategy",
    "Table",
    "table_of",
]
