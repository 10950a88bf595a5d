"""Discovery: ``/version``, ``/api``, ``/apis`` and the resource list of each
group/version, which kubectl reads to learn names, short names, scope and
verbs. kubectl 1.30+ first asks for aggregated discovery; a plain
APIGroupList answer (Content-Type without the profile) makes it fall back."""

from __future__ import annotations

import platform
from typing import Any

from shoal import __version__
from shoal.kinds import Kind
from shoal.plugins.gateway import accessreview, componentstatus, resourcemetrics, simulate
from shoal.plugins.gateway.connect import CONNECT
from shoal.plugins.gateway.paths import group_versions, kinds_of, subresource_kinds

# The Kubernetes API level the gateway speaks; shoal's own version rides along.
KUBERNETES_MAJOR, KUBERNETES_MINOR = "1", "32"

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def version_info(git_commit: str = "") -> dict[str, str]:
    return {
        "major": KUBERNETES_MAJOR,
        "minor": KUBERNETES_MINOR,
        "gitVersion": f"v{KUBERNETES_MAJOR}.{KUBERNETES_MINOR}.0+shoal-{__version__}",
        "gitCommit": git_commit,
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": f"python{platform.python_version()}",
        "compiler": "cpython",
        "platform": f"{platform.system().lower()}/{platform.machine()}",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


# Groups served by the gateway itself rather than by stored kinds.
VIRTUAL = {
    "v1": componentstatus.discovery_resources,
    accessreview.GROUP_VERSION: accessreview.discovery_resources,
    resourcemetrics.GROUP_VERSION: resourcemetrics.discovery_resources,
    simulate.GROUP_VERSION: simulate.discovery_resources,
}


def api_groups() -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for gv in dict.fromkeys([*group_versions(), *VIRTUAL]):
        group, _, version = gv.rpartition("/")
        if group:
            groups.setdefault(group, []).append(version)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(name, versions) for name, versions in groups.items()],
    }


def api_group(name: str) -> dict[str, Any] | None:
    found = [g for g in api_groups()["groups"] if g["name"] == name]
    return found[0] if found else None


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": listed,
        "preferredVersion": listed[0],
    }


def resource_list(group_version: str) -> dict[str, Any] | None:
    served = kinds_of(group_version)
    if not served and group_version not in VIRTUAL:
        return None
    virtual = VIRTUAL.get(group_version)
    resources: list[dict[str, Any]] = virtual() if virtual else []
    for kind in served.values():
        resources.append(_resource(kind))
        resources.extend(_subresources(kind))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def _resource(kind: Kind) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": kind.plural,
        "singularName": kind.singular,
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": VERBS,
    }
    if kind.short_names:
        body["shortNames"] = list(kind.short_names)
    if kind.strategy.categories:
        body["categories"] = list(kind.strategy.categories)
    return body


def _subresources(kind: Kind) -> list[dict[str, Any]]:
    subs: list[tuple[str, str, str, list[str]]] = []
    if kind.has_status:
        subs.append(("status", kind.kind, "", ["get", "patch", "update"]))
    if kind.strategy.scale is not None:
        subs.append(("scale", "Scale", "autoscaling", ["get", "patch", "update"]))
    for name in kind.strategy.connect_subresources:
        if name in CONNECT:
            subs.append((name, CONNECT[name].kind, "", CONNECT[name].verbs))
    for name, child in subresource_kinds(kind):  # pods/binding, pods/eviction
        subs.append((name, child.kind, child.group, ["create"]))
    out = []
    for name, sub_kind, group, verbs in subs:
        body = {
            "name": f"{kind.plural}/{name}",
            "singularName": "",
            "namespaced": kind.namespaced,
            "kind": sub_kind,
            "verbs": verbs,
        }
        if group:
            body.update(group=group, version="v1")
        out.append(body)
    return out
