"""``shoal top nodes|pods``: CPU and memory in use now, from the resource
metrics API (``metrics.k8s.io``, the metrics plugin), printed as ``kubectl
top`` prints it: CPU in millicores, memory in Mi, and for nodes the share of
their allocatable."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import with_client

NODE_EXAMPLES = """
\b
Examples:
  shoal top nodes                 # every node
  shoal top node hollow-0000      # one node
  shoal top nodes -l zone=a --sort-by cpu
"""
POD_EXAMPLES = """
\b
Examples:
  shoal top pods                  # pods of the current namespace
  shoal top pods -A --sort-by memory
  shoal top pod web --containers  # each container of pod web
  shoal top pods -l app=web
"""
SORT_KEYS = ("cpu", "memory")


class _KindAliases(click.Group):
    """``top nodes``, ``top node``, ``top no``; ``top pods``, ``top pod``, ``top po``."""

    ALIASES = {"nodes": "node", "no": "node", "pods": "pod", "po": "pod"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.ALIASES.get(cmd_name, cmd_name))


@click.group("top", cls=_KindAliases)
def top_command() -> None:
    """Display resource (CPU/memory) usage of nodes or pods.

    The metrics plugin scrapes every agent each --metric-resolution; usage
    shows after two scrapes."""


def _cpu_millis(quantity: str) -> int:
    from shoal.quantity import parse_quantity

    return int(parse_quantity(quantity or "0") * 1000)


def _memory_mi(quantity: str) -> int:
    from shoal.quantity import parse_quantity

    return int(parse_quantity(quantity or "0") / (1024 * 1024))


def _table(rows: list[list[str]], headers: list[str], no_headers: bool) -> None:
    shown = rows if no_headers else [headers, *rows]
    widths = [max(len(row[i]) for row in shown) for i in range(len(headers))]
    for row in shown:
        click.echo("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


async def _call(client: Any, method: str, request: Any) -> Any:
    import grpc
    from shoal import errors
    from shoal.api.v1 import metrics_pb2_grpc

    stub = metrics_pb2_grpc.MetricsStub(client.channel)
    try:
        return await getattr(stub, method)(request)
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.UNIMPLEMENTED:
            raise click.ClickException(
                "the metrics API is not available: the API server has no metrics plugin"
            ) from None
        raise errors.from_status(
            err.code(), err.details() or "", err.trailing_metadata() or ()
        ) from None


def _percent(used: Decimal | int, available: Decimal | int) -> str:
    return f"{int(Decimal(used) / Decimal(available) * 100)}%" if available else "<unknown>"


def _node_row(node: Any, usage: dict[str, str] | None) -> list[str]:
    from shoal.quantity import parse_quantity

    name = node.metadata.name
    if usage is None:
        return [name, "<unknown>", "<unknown>", "<unknown>", "<unknown>"]
    allocatable = node.status.allocatable or node.status.capacity
    cpu = parse_quantity(usage.get("cpu", "0"))
    memory = parse_quantity(usage.get("memory", "0"))
    return [
        name,
        f"{_cpu_millis(usage.get('cpu', '0'))}m",
        _percent(cpu, parse_quantity(allocatable.get("cpu", "0"))),
        f"{_memory_mi(usage.get('memory', '0'))}Mi",
        _percent(memory, parse_quantity(allocatable.get("memory", "0"))),
    ]


def _sort_key(sort_by: str, usage: dict[str, str] | None) -> Any:
    if usage is None:
        return 0
    return (
        _cpu_millis(usage.get("cpu", "0"))
        if sort_by == "cpu"
        else _memory_mi(usage.get("memory", "0"))
    )


@top_command.command("node", epilog=NODE_EXAMPLES)
@click.argument("name", required=False, default="")
@click.option("-l", "--selector", default="", help="Label selector (a=b, a in (x,y), !a).")
@click.option("--sort-by", type=click.Choice(SORT_KEYS), default=None, help="Largest first.")
@click.option("--no-headers", is_flag=True, help="Without the header row.")
@click.pass_obj
def top_nodes(
    ctx: CtlContext, name: str, selector: str, sort_by: str | None, no_headers: bool
) -> None:
    """CPU and memory of nodes, and their share of what each node has."""
    from shoal.api.v1 import metrics_pb2

    async def work(client: Any) -> list[tuple[Any, dict[str, str] | None]]:
        if name:
            one = await _call(client, "GetNodeMetrics", metrics_pb2.GetMetricsRequest(name=name))
            found = {one.metadata.name: dict(one.usage)}
            nodes = [await client.get("nodes", name)]
        else:
            ask = metrics_pb2.ListMetricsRequest(label_selector=selector)
            listed = await _call(client, "ListNodeMetrics", ask)
            found = {m.metadata.name: dict(m.usage) for m in listed.items}
            nodes = list((await client.list("nodes", label_selector=selector)).items)
        return [(n, found.get(n.metadata.name)) for n in nodes]

    pairs = sorted(with_client(ctx, work), key=lambda p: p[0].metadata.name)
    if not any(usage for _, usage in pairs):
        raise click.ClickException("metrics not available yet")
    if sort_by:
        pairs.sort(key=lambda p: _sort_key(sort_by, p[1]), reverse=True)
    headers = ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    _table([_node_row(n, u) for n, u in pairs], headers, no_headers)


@top_command.command("pod", epilog=POD_EXAMPLES)
@click.argument("name", required=False, default="")
@click.option("-l", "--selector", default="", help="Label selector (a=b, a in (x,y), !a).")
@click.option("-A", "--all-namespaces", is_flag=True, help="Across every namespace.")
@click.option("--containers", is_flag=True, help="One row per container.")
@click.option("--sort-by", type=click.Choice(SORT_KEYS), default=None, help="Largest first.")
@click.option("--no-headers", is_flag=True, help="Without the header row.")
@click.pass_obj
def top_pods(ctx: CtlContext, name: str, **opts: Any) -> None:
    """CPU and memory of pods (or of each of their containers)."""
    from shoal.api.v1 import metrics_pb2

    namespace = "" if opts["all_namespaces"] else ctx.client_config().namespace

    async def work(client: Any) -> list[Any]:
        if name:
            ask = metrics_pb2.GetMetricsRequest(namespace=namespace, name=name)
            return [await _call(client, "GetPodMetrics", ask)]
        ask = metrics_pb2.ListMetricsRequest(namespace=namespace, label_selector=opts["selector"])
        return list((await _call(client, "ListPodMetrics", ask)).items)

    items = sorted(with_client(ctx, work), key=lambda m: (m.metadata.namespace, m.metadata.name))
    if not items:
        where = "any namespace" if opts["all_namespaces"] else f"{namespace} namespace"
        click.echo(f"No resources found in {where}.", err=True)
        return
    _print_pods(items, opts)


def _pod_usage(item: Any) -> dict[str, str]:
    from shoal.quantity import parse_quantity

    cpu = sum((parse_quantity(c.usage.get("cpu", "0")) for c in item.containers), Decimal(0))
    memory = sum((parse_quantity(c.usage.get("memory", "0")) for c in item.containers), Decimal(0))
    return {"cpu": f"{cpu}", "memory": f"{memory}"}


def _print_pods(items: list[Any], opts: dict[str, Any]) -> None:
    if opts["sort_by"]:
        items.sort(key=lambda m: _sort_key(opts["sort_by"], _pod_usage(m)), reverse=True)
    prefix = ["NAMESPACE"] if opts["all_namespaces"] else []
    rows: list[list[str]] = []
    for item in items:
        lead = [item.metadata.namespace] if opts["all_namespaces"] else []
        if opts["containers"]:
            for c in item.containers:
                usage = dict(c.usage)
                rows.append([*lead, item.metadata.name, c.name, *_usage_cells(usage)])
        else:
            rows.append([*lead, item.metadata.name, *_usage_cells(_pod_usage(item))])
    middle = ["POD", "NAME"] if opts["containers"] else ["NAME"]
    _table(rows, [*prefix, *middle, "CPU(cores)", "MEMORY(bytes)"], opts["no_headers"])


def _usage_cells(usage: dict[str, str]) -> list[str]:
    return [f"{_cpu_millis(usage.get('cpu', '0'))}m", f"{_memory_mi(usage.get('memory', '0'))}Mi"]
