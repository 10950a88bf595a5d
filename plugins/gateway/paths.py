"""Kubernetes REST paths to what they name: a kind, a namespace, an object
name, a subresource and (for ``proxy``) the rest of the path.

``/api/v1/namespaces/web/pods/nginx/log`` names the ``log`` subresource of
pod ``web/nginx``; ``/apis/apps/v1/deployments`` every deployment in every
namespace; ``/api/v1/namespaces/web`` the namespace ``web`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from shoal import kinds
from shoal.kinds import Kind
from shoal.plugins.gateway.status import not_found


@dataclass(frozen=True)
class Target:
    kind: Kind
    namespace: str = ""  # "" for cluster-scoped kinds and lists across namespaces
    name: str = ""  # "" for the collection
    subresource: str = ""  # "status", "scale", "log", "exec", "portforward", "proxy"
    rest: str = ""  # after ``proxy/``: the path inside the pod

    @property
    def group_version(self) -> str:
        return self.kind.api_version


def kinds_of(group_version: str) -> dict[str, Kind]:
    """The kinds served under ``v1``, ``apps/v1``... by plural."""
    return {k.plural: k for k in kinds.all_kinds() if k.api_version == group_version}


def subresource_kind(parent: Kind, subresource: str) -> Kind | None:
    """The kind a POST to ``parent/NAME/subresource`` creates: a Binding for
    pods/binding, an Eviction for pods/eviction (``Strategy.subresource_of``)."""
    for kind in kinds.all_kinds():
        if kind.strategy.subresource_of == (parent.plural, subresource):
            return kind
    return None


def subresource_kinds(parent: Kind) -> list[tuple[str, Kind]]:
    """Every (subresource, kind) a POST under ``parent`` creates."""
    return [
        (k.strategy.subresource_of[1], k)
        for k in kinds.all_kinds()
        if k.strategy.subresource_of is not None and k.strategy.subresource_of[0] == parent.plural
    ]


def group_versions() -> list[str]:
    """Every group/version with a kind, core first, in registration order."""
    seen: dict[str, None] = {}
    for kind in kinds.all_kinds():
        seen.setdefault(kind.api_version, None)
    return list(seen)


def parse(group_version: str, tail: str) -> Target:
    """The target of ``tail``, the path after ``/api/v1/`` or ``/apis/G/V/``."""
    served = kinds_of(group_version)
    parts = tail.split("/")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] in served:
        namespace, parts = parts[1], parts[2:]
    kind = served.get(parts[0])
    if kind is None or not all(parts[:3]):
        raise not_found()
    if namespace and not kind.namespaced:
        raise not_found()
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 else ""
    rest = "/".join(parts[3:])
    if rest and subresource != "proxy":
        raise not_found()
    return Target(kind, namespace, name, subresource, rest)
