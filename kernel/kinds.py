"""The kind registry: every kind the API serves, with the names people use.

A kind is found by any of its names, as kubectl finds it: the kind ("Pod"),
the plural ("pods"), the singular ("pod") or a short name ("po"), in any case,
optionally qualified by group ("deployments.apps") or version and group
("deployments.v1.apps"). Objects travel as google.protobuf.Any, so a kind is
also found from its message (class, instance, full name or type URL).

Plugins may add kinds with :func:`register`; every name must be new.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message
from shoal.api.v1 import apps_pb2, coordination_pb2, core_pb2, rbac_pb2


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


def all_kinds() -> list[Kind]:
    """Every registered kind, in registration order."""
    return list(_kinds)


def resolve(name: str) -> Kind:
    """The kind called `name`: kind, plural, singular or short name, any case,
    optionally followed by ".group" or ".version.group"."""
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
    try:
        return _by_api_version_kind[(api_version, kind)]
    except KeyError:
        raise UnknownKindError(
            f'no kind "{kind}" is registered for version "{api_version}"'
        ) from None


def _builtin(
    kind: str,
    api_version: str,
    message: type[Message],
    short_names: tuple[str, ...] = (),
    *,
    plural: str = "",
    namespaced: bool = True,
    has_status: bool = True,
) -> Kind:
    return Kind(
        kind=kind,
        api_version=api_version,
        plural=plural or kind.lower() + "s",
        singular=kind.lower(),
        short_names=short_names,
        namespaced=namespaced,
        message=message,
        has_status=has_status,
    )


_RBAC = "rbac.authorization.k8s.io/v1"
for _kind in (
    _builtin("Namespace", "v1", core_pb2.Namespace, ("ns",), namespaced=False),
    _builtin("Node", "v1", core_pb2.Node, ("no",), namespaced=False),
    _builtin("Pod", "v1", core_pb2.Pod, ("po",)),
    # Create-only, as in Kubernetes: a Binding is applied to its pod, never stored.
    _builtin("Binding", "v1", core_pb2.Binding, has_status=False),
    _builtin("ReplicationController", "v1", core_pb2.ReplicationController, ("rc",)),
    _builtin("Service", "v1", core_pb2.Service, ("svc",)),
    _builtin("Endpoints", "v1", core_pb2.Endpoints, ("ep",), plural="endpoints", has_status=False),
    _builtin("Event", "v1", core_pb2.Event, ("ev",), has_status=False),
    _builtin("ConfigMap", "v1", core_pb2.ConfigMap, ("cm",), has_status=False),
    _builtin("Secret", "v1", core_pb2.Secret, has_status=False),
    _builtin("ReplicaSet", "apps/v1", apps_pb2.ReplicaSet, ("rs",)),
    _builtin("Deployment", "apps/v1", apps_pb2.Deployment, ("deploy",)),
    _builtin("Lease", "coordination.k8s.io/v1", coordination_pb2.Lease, has_status=False),
    _builtin("ServiceAccount", "v1", core_pb2.ServiceAccount, ("sa",), has_status=False),
    _builtin("Role", _RBAC, rbac_pb2.Role, has_status=False),
    _builtin("ClusterRole", _RBAC, rbac_pb2.ClusterRole, namespaced=False, has_status=False),
    _builtin("RoleBinding", _RBAC, rbac_pb2.RoleBinding, has_status=False),
    _builtin(
        "ClusterRoleBinding",
        _RBAC,
        rbac_pb2.ClusterRoleBinding,
        namespaced=False,
        has_status=False,
    ),
):
    register(_kind)
del _kind
