"""``shoal describe``: an object in readable sections, with its events."""

from __future__ import annotations

from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import Target, namespace_of, parse_targets, with_client

Obj = dict[str, Any]
# Big, noisy parts described elsewhere or not at all.
SKIP = {"apiVersion", "kind", "metadata"}


@click.command("describe")
@click.argument("resources", nargs=-1, required=True)
@click.option("-l", "--selector", default="", help="Objects with these labels.")
@click.option("-A", "--all-namespaces", is_flag=True)
@click.pass_obj
def describe_command(
    ctx: CtlContext, resources: tuple[str, ...], selector: str, all_namespaces: bool
) -> None:
    """Show an object in detail, with the events about it.

    \b
    Examples:
      shoal describe pod web
      shoal describe deployment/web
      shoal describe nodes
    """
    targets = parse_targets(resources)
    texts = with_client(ctx, lambda c: _describe(ctx, c, targets, selector, all_namespaces))
    click.echo("\n\n".join(texts))


async def _describe(
    ctx: CtlContext, client: Any, targets: list[Target], selector: str, all_ns: bool
) -> list[str]:
    from shoal.manifest import to_dict

    texts = []
    for target in targets:
        ns = namespace_of(ctx, target.kind, all_ns)
        if target.name:
            objects = [await client.get(target.kind, target.name, ns)]
        else:
            objects = (await client.list(target.kind, ns, label_selector=selector)).items
        for obj in objects:
            events = await _events_for(client, obj)
            texts.append(describe_object(to_dict(obj), events))
    return texts


async def _events_for(client: Any, obj: Any) -> list[Obj]:
    from shoal.ctl.info import event_time
    from shoal.manifest import to_dict

    selector = f"involvedObject.name={obj.metadata.name},involvedObject.kind={obj.DESCRIPTOR.name}"
    listed = await client.list("Event", obj.metadata.namespace, field_selector=selector)
    return sorted((to_dict(e) for e in listed.items), key=event_time)


def describe_object(obj: Obj, events: list[Obj]) -> str:
    meta = obj.get("metadata") or {}
    lines = [f"Name:         {meta.get('name', '')}"]
    if meta.get("namespace"):
        lines.append(f"Namespace:    {meta['namespace']}")
    lines += _mapping("Labels:", meta.get("labels"))
    lines += _mapping("Annotations:", _visible(meta.get("annotations")))
    if meta.get("creationTimestamp"):
        lines.append(f"Created:      {meta['creationTimestamp']}")
    if meta.get("deletionTimestamp"):
        lines.append(f"Terminating:  since {meta['deletionTimestamp']}")
    for owner in meta.get("ownerReferences") or []:
        lines.append(f"Controlled By:  {owner.get('kind')}/{owner.get('name')}")
    if obj.get("kind") == "Pod":
        from shoal.plugins.kinds.columns import pod_status

        lines.append(f"Status:       {pod_status(obj)}")
    for key, value in obj.items():
        if key not in SKIP:
            lines += _section(key[:1].upper() + key[1:], value, 0)
    lines += _events(events)
    return "\n".join(lines)


def _visible(annotations: Any) -> Any:
    from shoal.ctl.apply import LAST_APPLIED

    return {k: v for k, v in (annotations or {}).items() if k != LAST_APPLIED}


def _mapping(title: str, values: Any) -> list[str]:
    pairs = [f"{k}={v}" for k, v in sorted((values or {}).items())]
    if not pairs:
        return [f"{title:<14}<none>"]
    return [f"{title:<14}{pairs[0]}"] + [" " * 14 + p for p in pairs[1:]]


def _section(title: str, value: Any, depth: int) -> list[str]:
    pad = "  " * depth
    if isinstance(value, dict):
        lines = [f"{pad}{title}:"]
        for key, inner in value.items():
            lines += _section(key, inner, depth + 1)
        return lines
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return [f"{pad}{title}:  {', '.join(str(v) for v in value) or '<none>'}"]
        lines = [f"{pad}{title}:"]
        for item in value:
            label = item.get("name") or item.get("type") or "-" if isinstance(item, dict) else "-"
            lines += _section(str(label), item, depth + 1)
        return lines
    return [f"{pad}{title}:  {value}"]


def _events(events: list[Obj]) -> list[str]:
    if not events:
        return ["Events:       <none>"]
    from shoal.age import age
    from shoal.ctl.info import event_time
    from shoal.ctl.printers.table import render

    rows = [
        [
            e.get("type", ""),
            e.get("reason", ""),
            age(event_time(e)),
            (e.get("source") or {}).get("component", "") or e.get("reportingComponent", ""),
            e.get("message", ""),
        ]
        for e in events
    ]
    table = render(["Type", "Reason", "Age", "From", "Message"], rows)
    return ["Events:"] + ["  " + line for line in table.splitlines()]
