"""The kind registry: every kind the API serves, with the names people use.

A kind is found by any of its names, as kubectl finds it: the kind ("Pod"),
the plural ("pods"), the singular ("pod") or a short name ("po"), in any case,
optionally qualified by group ("deployments.apps") or version and group
("deployments.v1.apps"). Objects travel as google.protobuf.Any, so a kind is
also found from its message (class, instance, full name or type URL).

Every kind, the built-in ones included, comes from a plugin's
``register_kinds`` hook (``shoal.plugins.kinds.*`` for Kubernetes' own): the
first lookup loads them. :func:`register` adds one more at any time (a
CustomResourceDefinition's); every name must be new.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

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
_by_name: dict[str, Kind] = {}  # every lower-case name -> kind
_by_message: dict[str, Kind] = {}  # message full name -> kind
_by_api_version_kind: dict[tuple[str, str], Kind] = {}


def register(kind: Kind) -> None:
    """Add a kind. Raises ValueError when any of its names, its message or its
    apiVersion/kind is already taken, so that every name resolves to one kind."""
    taken = [n for n in kind.names() if n in _by_name]
    if taken:
        owner = _by_name[taken[0]]
        raise ValueError(f'kind {kind.kind}: name "{taken[0]}" is already used by {owner.kind}')
    if kind.full_name in _by_message:
        raise ValueError(f"kind {kind.kind}: message {kind.full_name} is already registered")
    key = (kind.api_version, kind.kind)
    if key in _by_api_version_kind:
        raise ValueError(f"kind {kind.kind} is already registered for {kind.api_version}")
    _kinds.append(kind)
    _by_name.update(dict.fromkeys(kind.names(), kind))
    _by_message[kind.full_name] = kind
    _by_api_version_kind[key] = kind


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
    if found is not None:
        return found
    head, _, qualifier = lowered.partition(".")
    found = _by_name.get(head)
    if found is not None and qualifier in _qualifiers(found):
        return found
    raise UnknownKindError(f'the server doesn\'t have a resource type "{name}"')


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
