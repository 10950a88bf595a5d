"""The kind registry: every kind the API serves, with the names people use.

A kind is found by any of its names, as kubectl finds it: the kind ("Pod"),
the plural ("pods"), the singular ("pod") or a short name ("po"), in any case,
optionally qualified by group ("deployments.apps") or version and group
("deployments.v1.apps"). Objects travel as google.protobuf.Any, so a kind is
also found from its message (class, instance, full name or type URL).

Every kind, the built-in ones included, comes from a plugin's
``register_kinds`` hook (``shoal.plugins.kinds.*`` for Kubernetes' own): the
first lookup loads them. :func:`register` adds one more at any time (a
CustomResourceDefinition's) and :func:`unregister` takes it away again.

A *generic* message (:func:`register_generic_message`: shoal.v1.CustomObject)
carries objects of many kinds: its kind is found from the object's own
apiVersion and kind, and it converts to and from Kubernetes JSON by the
functions registered with it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from google.protobuf.message import Message
from shoal.strategy import DEFAULT_STRATEGY, Strategy

log = structlog.get_logger().bind(component="kinds")


@dataclass(frozen=True)
class Kind:
    """One kind the API serves and the names it goes by."""

    kind: str  # "Pod"
    api_version: str  # "v1", "apps/v1", "coordination.k8s.io/v1"
    plural: str  # "pods"
    singular: str  # "pod"
    short_names: tuple[str, ...]  # ("po",)
    namespaced: bool
    message: type[Message]  # core_pb2.Pod
    has_status: bool  # has a status subresource (UpdateStatus)
    # How the API server treats its objects (shoal.strategy).
    strategy: Strategy = field(default=DEFAULT_STRATEGY, compare=False)

    @property
    def resource(self) -> str:
        """The resource name qualified by group: "pods", "deployments.apps"."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group(self) -> str:
        """The API group: "" for the core group, "apps", "coordination.k8s.io"."""
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        """The version within the group: "v1"."""
        return self.api_version.rpartition("/")[2]

    @property
    def full_name(self) -> str:
        """The protobuf full name of the message, "shoal.v1.Pod" (the Any type URL's tail)."""
        return str(self.message.DESCRIPTOR.full_name)

    def names(self) -> tuple[str, ...]:
        """Every unqualified name this kind answers to, lower case."""
        return tuple(n.lower() for n in (self.kind, self.plural, self.singular, *self.short_names))


class UnknownKindError(ValueError):
    """No registered kind goes by the given name, message or apiVersion/kind."""


_kinds: list[Kind] = []
# every lower-case name -> the kinds going by it, in registration order: names
# are unique within a group (an unqualified name finds the first kind)
_by_name: dict[str, list[Kind]] = {}
_by_message: dict[str, Kind] = {}  # message full name -> kind
_by_api_version_kind: dict[tuple[str, str], Kind] = {}


@dataclass(frozen=True)
class GenericMessage:
    """A message that carries objects of many kinds, and its JSON codec:
    ``to_dict(msg)`` -> Kubernetes JSON, ``from_dict(kind, data)`` -> msg."""

    message: type[Message]
    to_dict: Callable[[Message], dict[str, Any]]
    from_dict: Callable[[Kind, dict[str, Any]], Message]


_generic: dict[str, GenericMessage] = {}


def register_generic_message(generic: GenericMessage) -> None:
    """Declare a message generic (idempotent)."""
    _generic[str(generic.message.DESCRIPTOR.full_name)] = generic


def generic_message(msg_or_type: Message | type[Message] | str) -> GenericMessage | None:
    """The generic-message entry of a message (instance, class or full
    name), or None when the message belongs to one kind."""
    if isinstance(msg_or_type, str):
        return _generic.get(msg_or_type.rpartition("/")[2])
    return _generic.get(msg_or_type.DESCRIPTOR.full_name)


def message_type(full_name: str) -> type[Message]:
    """The message class of a protobuf full name or Any type URL: a kind's
    message or a generic one."""
    _ensure_loaded()
    name = full_name.rpartition("/")[2]
    generic = _generic.get(name)
    if generic is not None:
        return generic.message
    return for_message(name).message


def _same_resource(a: Kind, b: Kind) -> bool:
    """Two versions of one resource (a CRD's served versions) share names."""
    return a.group == b.group and a.plural == b.plural


def register(kind: Kind) -> None:
    """Add a kind. Raises ValueError when any of its names is taken by another
    resource of its group (names are unique within a group, as in Kubernetes:
    "crontabs.a.example.com" and "crontabs.b.example.com" may both exist), or
    its message or apiVersion/kind by another kind. Registering a kind again replaces it (its
    strategy may be new): idempotent. Versions of one resource share names;
    a name resolves to the version registered first."""
    _ensure_loaded()
    with _loading:
        key = (kind.api_version, kind.kind)
        current = _by_api_version_kind.get(key)
        if current is not None and current != kind:
            raise ValueError(f"kind {kind.kind} is already registered for {kind.api_version}")
        taken = [
            (n, owner)
            for n in kind.names()
            for owner in _by_name.get(n, ())
            if owner.group == kind.group and not _same_resource(owner, kind)
        ]
        if taken:
            name, owner = taken[0]
            raise ValueError(f'kind {kind.kind}: name "{name}" is already used by {owner.kind}')
        generic = kind.full_name in _generic
        if not generic and kind.full_name in _by_message and current is None:
            raise ValueError(f"kind {kind.kind}: message {kind.full_name} is already registered")
        if current is not None and current.names() == kind.names():
            _kinds[_kinds.index(current)] = kind  # in place: the order of versions holds
            for name in kind.names():
                owners = _by_name[name]
                owners[owners.index(current)] = kind
        else:
            if current is not None:
                _forget(current)
            _kinds.append(kind)
            for name in kind.names():
                _by_name.setdefault(name, []).append(kind)
        if not generic:
            _by_message[kind.full_name] = kind
        _by_api_version_kind[key] = kind


def _forget(kind: Kind) -> None:
    _kinds.remove(kind)
    for name in kind.names():
        owners = [k for k in _by_name.get(name, ()) if k is not kind]
        if owners:
            _by_name[name] = owners
        else:
            _by_name.pop(name, None)


def unregister(kind: Kind) -> None:
    """Take a kind away (a deleted CustomResourceDefinition's version)."""
    with _loading:
        current = _by_api_version_kind.pop((kind.api_version, kind.kind), None)
        if current is None:
            return
        _forget(current)
        if _by_message.get(current.full_name) is current:
            del _by_message[current.full_name]


def versions_of(kind: Kind) -> list[Kind]:
    """Every registered version of a kind's resource, in registration order."""
    _ensure_loaded()
    return [k for k in _kinds if _same_resource(k, kind)]


_loaded = False
_in_progress = False  # a plugin looking kinds up while they load sees those so far
_loading = threading.RLock()


def _ensure_loaded() -> None:
    """Register the kinds of every plugin's ``register_kinds``, once."""
    global _loaded, _in_progress
    if _loaded:
        return
    with _loading:
        if _loaded or _in_progress:
            return
        _in_progress = True
        try:
            from shoal import plugin_manager  # the plugin manager imports this module

            for resource, kind in plugin_manager.kinds().items():
                try:
                    register(kind)
                except ValueError as err:  # one clashing plugin must not stop the rest
                    log.error("kind not registered", resource=resource, error=str(err))
            _loaded = True
        finally:
            _in_progress = False


def all_kinds() -> list[Kind]:
    """Every registered kind, in registration order."""
    _ensure_loaded()
    return list(_kinds)


def resolve(name: str) -> Kind:
    """The kind called `name`: kind, plural, singular or short name, any case,
    optionally followed by ".group" or ".version.group"."""
    _ensure_loaded()
    lowered = name.strip().lower()
    found = _by_name.get(lowered)
    if found:
        return _preferred(found)
    head, _, qualifier = lowered.partition(".")
    for candidate in _by_name.get(head, ()):
        if qualifier in _qualifiers(candidate):
            return candidate
    raise UnknownKindError(f'the server doesn\'t have a resource type "{name}"')


def is_served(name: str) -> bool:
    """Whether :func:`resolve` knows ``name`` (a plugin may leave a kind out)."""
    try:
        resolve(name)
    except UnknownKindError:
        return False
    return True


def request_name(kind: Kind) -> str:
    """The name a request gives for ``kind``: its kind name, or, when that
    finds another kind (two CRDs' "CronTab"), ``plural.version.group``."""
    try:
        if resolve(kind.kind) == kind:
            return kind.kind
    except UnknownKindError:
        pass
    return f"{kind.plural}.{kind.version}.{kind.group}" if kind.group else kind.kind


def _preferred(found: list[Kind]) -> Kind:
    """Of the kinds going by one name: the first resource registered, and
    of its versions the one registered first (a CRD's storage version)."""
    first = found[0]
    return next(k for k in found if _same_resource(k, first))


def _qualifiers(kind: Kind) -> set[str]:
    group, version = kind.group.lower(), kind.version.lower()
    if not group:  # the core group: "pods.v1"
        return {version}
    return {group, f"{version}.{group}"}


def for_message(msg_or_type: Message | type[Message] | str) -> Kind:
    """The kind of a message instance or class, or of a protobuf full name
    ("shoal.v1.Pod") or Any type URL ("type.googleapis.com/shoal.v1.Pod")."""
    _ensure_loaded()
    if isinstance(msg_or_type, str):
        full_name = msg_or_type.rpartition("/")[2]
    else:
        full_name = msg_or_type.DESCRIPTOR.full_name
    if full_name in _generic:
        if isinstance(msg_or_type, Message):
            obj: Any = msg_or_type
            return by_api_version_kind(obj.api_version, obj.kind)
        raise UnknownKindError(f'message "{full_name}" carries many kinds: objects name theirs')
    try:
        return _by_message[full_name]
    except KeyError:
        raise UnknownKindError(f'no kind is registered for message "{full_name}"') from None


def by_api_version_kind(api_version: str, kind: str) -> Kind:
    """The kind a manifest's apiVersion and kind name (exact, as Kubernetes)."""
    _ensure_loaded()
    try:
        return _by_api_version_kind[(api_version, kind)]
    except KeyError:
        raise UnknownKindError(
            f'no kind "{kind}" is registered for version "{api_version}"'
        ) from None
