"""What the dashboard shows: its sections, the kinds in each (only those
this server serves, from the kinds registry), and each kind's rows with the
columns of its strategy's :class:`shoal.strategy.Table`, as ``kubectl get``
prints them. Nodes add capacity and, when the metrics API is served, usage (``cpu``,
``memory``) with the share of capacity it is."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlencode

import grpc
from shoal import errors, kinds, manifest
from shoal.client import Client
from shoal.quantity import parse_quantity
from shoal.strategy import table_of

Obj = dict[str, Any]

# section -> (title, kinds in the order shown); kinds a server lacks are skipped
SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "overview": ("Cluster", ("Node", "Namespace")),
    "workloads": (
        "Workloads",
        ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"),
    ),
    "services": ("Services", ("Service", "Endpoints", "Ingress")),
    "config": ("Config and storage", ("ConfigMap", "PersistentVolumeClaim")),
    "events": ("Events", ("Event",)),
}
NODE_EXTRA = ("CPU", "MEMORY", "CPU USED", "MEMORY USED")


def present(names: tuple[str, ...]) -> list[kinds.Kind]:
    """The kinds of ``names`` this server knows, in order."""
    found = []
    for name in names:
        try:
            found.append(kinds.resolve(name))
        except kinds.UnknownKindError:
            continue
    return found


def find_kind(name: str) -> kinds.Kind:
    from shoal.plugins.dashboard.errors import Refused

    try:
        return kinds.resolve(name)
    except kinds.UnknownKindError:
        raise Refused(f'kind "{name}" is not served by this cluster') from None


@dataclass
class Listing:
    kind: kinds.Kind
    namespace: str  # "" for every namespace (or a cluster-scoped kind)
    rows: list[list[str]]
    resource_version: str
    forbidden: str = ""  # why nothing is shown


def headers(kind: kinds.Kind, all_namespaces: bool) -> list[str]:
    table = table_of(kind.strategy)
    first = ["NAMESPACE", "NAME"] if all_namespaces and kind.namespaced else ["NAME"]
    extra = list(NODE_EXTRA) if is_node(kind) else []
    return [*first, *table.headers, *extra]


def is_node(kind: kinds.Kind) -> bool:
    return not kind.namespaced and kind.kind == "Node" and not kind.group


def cells(kind: kinds.Kind, obj: Obj, all_namespaces: bool, usage: dict[str, Obj]) -> list[str]:
    table = table_of(kind.strategy)
    meta = obj.get("metadata") or {}
    first = [meta.get("name", "")]
    if all_namespaces and kind.namespaced:
        first.insert(0, meta.get("namespace", ""))
    row = [*first, *(str(c) for c in table.cells(obj, time.time()))]
    if is_node(kind):
        capacity = (obj.get("status") or {}).get("capacity") or {}
        used = usage.get(meta.get("name", ""), {})
        row += [capacity.get("cpu", ""), capacity.get("memory", "")]
        row += [share(used.get(r, ""), capacity.get(r, "")) for r in ("cpu", "memory")]
    return row


def share(used: str, capacity: str) -> str:
    """``250m`` of ``4`` CPUs -> ``250m (6%)``; ``-`` without a figure."""
    if not used:
        return "-"
    try:
        whole = parse_quantity(capacity)
        return f"{used} ({int(parse_quantity(used) * 100 / whole)}%)" if whole else used
    except ValueError:
        return used


async def node_usage(client: Client) -> dict[str, Obj]:
    """Node name -> usage (``cpu``, ``memory``) from the metrics API
    (``metrics.k8s.io``, the ``shoal.v1.Metrics`` service); {} when this
    server has none, or the user may not read it."""
    try:
        metrics = importlib.import_module("shoal.api.v1.metrics_pb2")
        stubs = importlib.import_module("shoal.api.v1.metrics_pb2_grpc")
    except ImportError:  # a shoal without the metrics API
        return {}
    try:
        listed = await stubs.MetricsStub(client.channel).ListNodeMetrics(
            metrics.ListMetricsRequest()
        )
    except grpc.aio.AioRpcError:  # UNIMPLEMENTED (no metrics plugin), PERMISSION_DENIED
        return {}
    return {item.metadata.name: dict(item.usage) for item in listed.items}


async def listing(client: Client, kind: kinds.Kind, namespace: str) -> Listing:
    scope = namespace if kind.namespaced else ""
    try:
        listed = await client.list(kind, scope)
    except errors.ForbiddenError as err:
        return Listing(kind, scope, [], "", forbidden=err.message)
    usage = await node_usage(client) if is_node(kind) else {}
    objects = [manifest.to_dict(item) for item in listed.items]
    rows = [cells(kind, obj, not scope and kind.namespaced, usage) for obj in objects]
    return Listing(kind, scope, rows, listed.resource_version)


def object_href(kind: kinds.Kind, namespace: str, name: str) -> str:
    query = {"kind": kind.resource, "name": name}
    if kind.namespaced:
        query["ns"] = namespace
    return "/object?" + urlencode(query)


def render_row(kind: kinds.Kind, row: list[str], all_namespaces: bool) -> str:
    namespaced_all = all_namespaces and kind.namespaced
    namespace, name = (row[0], row[1]) if namespaced_all else ("", row[0])
    key = f"{namespace}/{name}"
    link_at = 1 if namespaced_all else 0
    tds = []
    for i, cell in enumerate(row):
        text = escape(cell)
        if i == link_at:
            href = escape(object_href(kind, namespace, name))
            text = f'<a href="{href}">{text}</a>'
        tds.append(f"<td>{text}</td>")
    return f'<tr data-key="{escape(key)}">{"".join(tds)}</tr>'


def render_listing(found: Listing, namespace_param: str) -> str:
    kind = found.kind
    title = escape(kind.kind if kind.kind.endswith("s") else kind.kind + "s")
    if found.forbidden:
        return (
            f'<section class="kind" data-kind="{escape(kind.resource)}"><h2>{title}</h2>'
            f'<p class="forbidden">Not shown: {escape(found.forbidden)}</p></section>'
        )
    all_ns = not found.namespace and kind.namespaced
    heads = "".join(f"<th>{escape(h)}</th>" for h in headers(kind, all_ns))
    body = "".join(render_row(kind, row, all_ns) for row in found.rows)
    return (
        f'<section class="kind" data-kind="{escape(kind.resource)}"><h2>{title} '
        f'<span class="count">{len(found.rows)}</span></h2>'
        f'<table class="objects" data-kind="{escape(kind.resource)}" '
        f'data-namespace="{escape(namespace_param)}" data-rv="{escape(found.resource_version)}">'
        f"<thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table></section>"
    )
