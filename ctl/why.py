"""``shoal why pod/NAME``: why the scheduler put a pod where it did, or why
it fits nowhere, from the decision record the scheduler keeps on the pod
(the ``scheduler.shoal.dev/decision`` annotation; see docs/why.md)."""

from __future__ import annotations

import json
from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import with_client

ANNOTATION = "scheduler.shoal.dev/decision"
EXAMPLES = """
\b
Examples:
  shoal why pod/web          # where web went, and why there
  shoal why web -n shop      # the same; pod is the default kind
"""


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _cpu(millis: int) -> str:
    return f"{millis}m" if millis % 1000 else f"{millis // 1000}"


def _memory(size: int) -> str:
    return f"{size // (1024 * 1024)}Mi"


def _excluded(decision: dict[str, Any]) -> list[str]:
    filtered = decision.get("filtered") or {}
    if not filtered:
        return []
    return ["Excluded (nodes by reason):", *[f"  {n:>5}  {r}" for r, n in filtered.items()]]


def _scheduled(decision: dict[str, Any]) -> list[str]:
    top, node = decision.get("top") or [], decision["node"]
    lines = [
        f"Scheduled to {node}: {decision.get('feasible', 0)} of "
        f"{decision.get('nodes', 0)} node(s) fit.",
        *_excluded(decision),
    ]
    weights = decision.get("weights") or {}
    if top and weights:
        plugins = list(weights)
        header = [
            "NODE",
            "TOTAL",
            *[p if weights[p] == 1 else f"{p}(x{weights[p]})" for p in plugins],
        ]
        rows = [
            [row["node"], str(row["total"]), *[str(row["scores"].get(p, "")) for p in plugins]]
            for row in top
        ]
        lines += [
            "Top nodes (normalized score per plugin, weighted total):",
            *_table([header, *rows]),
        ]
    if len(top) > 1:
        margin = top[0]["total"] - top[1]["total"]
        lines.append(f"{node} won by {margin} over {top[1]['node']}.")
    elif decision.get("feasible") == 1:
        lines.append(f"{node} was the only node that fit.")
    return lines


def _pending(decision: dict[str, Any]) -> list[str]:
    lines = [f"Pending: 0 of {decision.get('nodes', 0)} node(s) fit.", *_excluded(decision)]
    nearest = decision.get("nearest") or []
    if nearest:
        header = ["NODE", "FREE CPU", "FREE MEMORY", "WHY NOT"]
        rows = [
            [
                row["node"],
                _cpu(row["free"]["cpu"]),
                _memory(row["free"]["memory"]),
                "; ".join(row["reasons"]),
            ]
            for row in nearest
        ]
        lines += ["Nearest nodes:", *_table([header, *rows])]
    hints = decision.get("hints") or []
    if hints:
        lines += ["To fit:", *[f"  - {hint}" for hint in hints]]
    return lines


def render(decision: dict[str, Any], namespace: str, name: str) -> str:
    body = _scheduled(decision) if decision.get("node") else _pending(decision)
    return "\n".join([f"Pod {namespace}/{name}", *body])


def _pod_name(target: str) -> str:
    kind, _, name = target.rpartition("/")
    if kind not in ("", "pod", "pods", "po"):
        raise click.UsageError(f'shoal why explains pods, not "{kind}": use pod/NAME')
    if not name:
        raise click.UsageError("a pod name is required: shoal why pod/NAME")
    return name


@click.command("why", epilog=EXAMPLES)
@click.argument("target")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def why_command(ctx: CtlContext, target: str, output: str) -> None:
    """Why a pod was scheduled to its node, or why it fits nowhere."""
    name = _pod_name(target)
    namespace = ctx.client_config().namespace

    async def work(client: Any) -> Any:
        return await client.get("Pod", name, namespace)

    pod = with_client(ctx, work)
    text = pod.metadata.annotations.get(ANNOTATION)
    if not text:
        state = f"on {pod.spec.node_name}" if pod.spec.node_name else "not scheduled yet"
        raise click.ClickException(
            f'pod "{name}" ({state}) has no scheduling decision: the scheduler has not tried '
            "it yet, or another scheduler placed it"
        )
    try:
        decision = json.loads(text)
    except ValueError as err:
        raise click.ClickException(
            f'pod "{name}": the {ANNOTATION} annotation is not JSON'
        ) from err
    if output == "json":
        click.echo(json.dumps(decision, indent=2))
        return
    click.echo(render(decision, namespace, name))
    if pod.spec.node_name and decision.get("node") != pod.spec.node_name:
        click.echo(
            f"Note: the pod is now on {pod.spec.node_name}; this record is from an earlier "
            "attempt (the pod was bound by a bind plugin or another scheduler)."
        )
