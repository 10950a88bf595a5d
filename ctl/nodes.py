"""Node maintenance: ``cordon``, ``uncordon``, ``drain`` and ``taint``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import click
from shoal import errors
from shoal.api.v1 import policy_pb2
from shoal.ctl.context import CtlContext
from shoal.ctl.duration import Duration
from shoal.ctl.resources import with_client

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# How long drain waits before asking again for an eviction a budget refused (kubectl's 5 s).
EVICTION_RETRY_SECONDS = 5.0


async def set_unschedulable(client: Any, name: str, value: bool) -> bool:
    """Returns whether anything changed."""
    node = await client.get("Node", name, "")
    if node.spec.unschedulable == value:
        return False
    await client.patch("Node", name, {"spec": {"unschedulable": value}}, "")
    return True


def _cordon_command(name: str, value: bool) -> click.Command:
    @click.command(name)
    @click.argument("node")
    @click.pass_obj
    def command(ctx: CtlContext, node: str) -> None:
        changed = with_client(ctx, lambda c: set_unschedulable(c, node, value))
        click.echo(f"node/{node} {name}ed" if changed else f"node/{node} already {name}ed")

    command.help = (
        "Mark a node unschedulable: new pods go elsewhere."
        if value
        else "Mark a node schedulable again."
    )
    return command


cordon_command = _cordon_command("cordon", True)
uncordon_command = _cordon_command("uncordon", False)


@click.command("drain")
@click.argument("node")
@click.option("--force", is_flag=True, help="Also delete pods no controller manages.")
@click.option(
    "--ignore-daemonsets",
    is_flag=True,
    help="Leave DaemonSet-managed pods (their DaemonSet would put them back) and drain the rest.",
)
@click.option("--grace-period", type=int, default=-1, help="Seconds each pod gets to stop.")
@click.option("--delete-emptydir-data", is_flag=True, help="Delete pods with emptyDir volumes.")
@click.option("--dry-run", is_flag=True, help="Only say what would be evicted.")
@click.option(
    "--disable-eviction",
    is_flag=True,
    help="Delete pods instead of evicting them, bypassing PodDisruptionBudgets.",
)
@click.option(
    "--timeout",
    type=Duration(),
    default="0",
    help="Give up after this long (e.g. 2m); 0 waits as long as it takes.",
)
@click.pass_obj
def drain_command(ctx: CtlContext, node: str, **opts: Any) -> None:
    """Cordon a node, then evict its pods so their controllers place them elsewhere.

    Evictions honour PodDisruptionBudgets: one a budget refuses is asked
    again every 5 seconds until it is allowed or --timeout passes.

    \b
    Examples:
      shoal drain node-1
      shoal drain node-1 --force --grace-period=0
    """
    with_client(ctx, lambda client: _drain(client, node, opts))


async def _drain(client: Any, node: str, opts: dict[str, Any]) -> None:
    listed = await client.list("Pod", "", field_selector=f"spec.nodeName={node}")
    pods = [p for p in listed.items if not p.metadata.HasField("deletion_timestamp")]
    refuse = _refusals(pods, opts)
    if refuse:
        await set_unschedulable(client, node, True)
        raise click.ClickException(f"cannot delete {'; '.join(refuse)}")
    daemons = [p for p in pods if _owner_kind(p) == "DaemonSet"]
    if daemons:  # --ignore-daemonsets: as kubectl, warn and leave them
        click.echo(f"Warning: ignoring DaemonSet-managed Pods: {_names(daemons)}", err=True)
        pods = [p for p in pods if p not in daemons]
    if not opts["dry_run"]:
        await set_unschedulable(client, node, True)
    click.echo(f"node/{node} cordoned")
    grace = None if opts["grace_period"] < 0 else opts["grace_period"]
    deadline = time.monotonic() + opts["timeout"] if opts["timeout"] else None
    for pod in pods:
        label = f"{pod.metadata.namespace}/{pod.metadata.name}"
        if opts["dry_run"]:
            click.echo(f"evicting pod {label} (dry run)")
            continue
        click.echo(f"evicting pod {label}")
        if opts["disable_eviction"]:
            await client.delete(
                "Pod", pod.metadata.name, pod.metadata.namespace, grace_period_seconds=grace
            )
        else:
            await _evict(client, pod, grace, deadline, opts["timeout"])
        click.echo(f"pod/{pod.metadata.name} evicted")
    click.echo(f"node/{node} drained")


async def _evict(
    client: Any, pod: Any, grace: int | None, deadline: float | None, timeout: float
) -> None:
    """Ask for the pod's eviction until a budget allows it (kubectl drain's loop)."""
    eviction = policy_pb2.Eviction()
    eviction.metadata.name, eviction.metadata.namespace = pod.metadata.name, pod.metadata.namespace
    if grace is not None:
        eviction.delete_options.grace_period_seconds = grace
    where = f'pods/"{pod.metadata.name}" -n "{pod.metadata.namespace}"'
    while True:
        try:
            await client.create(eviction)
            return
        except errors.NotFoundError:
            return  # gone meanwhile
        except errors.TooManyRequestsError as err:
            if deadline is not None and time.monotonic() + EVICTION_RETRY_SECONDS > deadline:
                raise click.ClickException(
                    f"error when evicting {where}: global timeout reached: {timeout:g}s ({err})"
                ) from None
            click.echo(
                f"error when evicting {where} (will retry after "
                f"{EVICTION_RETRY_SECONDS:g}s): {err}",
                err=True,
            )
            await asyncio.sleep(EVICTION_RETRY_SECONDS)


def _owner_kind(pod: Any) -> str:
    return next((o.kind for o in pod.metadata.owner_references if o.controller), "")


def _names(pods: list[Any]) -> str:
    return ", ".join(f"{p.metadata.namespace}/{p.metadata.name}" for p in pods)


def _refusals(pods: list[Any], opts: dict[str, Any]) -> list[str]:
    """kubectl drain's refusals, each with the flag that overrides it."""
    out = []
    bare = [p for p in pods if not _owner_kind(p)]
    if bare and not opts["force"]:
        out.append(f"Pods not managed by a controller (use --force): {_names(bare)}")
    daemons = [p for p in pods if _owner_kind(p) == "DaemonSet"]
    if daemons and not opts["ignore_daemonsets"]:
        out.append(f"DaemonSet-managed Pods (use --ignore-daemonsets): {_names(daemons)}")
    local = [p for p in pods if any(v.HasField("empty_dir") for v in p.spec.volumes)]
    if local and not opts["delete_emptydir_data"]:
        out.append(f"Pods with local storage (use --delete-emptydir-data): {_names(local)}")
    return out


def parse_taint(spec: str) -> tuple[str, str, str, bool]:
    """``key=value:Effect``, ``key:Effect``, ``key-`` or ``key:Effect-``
    -> (key, value, effect, remove)."""
    remove = spec.endswith("-")
    body = spec[:-1] if remove else spec
    head, _, effect = body.partition(":")
    key, _, value = head.partition("=")
    if not key or (not remove and effect not in EFFECTS) or (effect and effect not in EFFECTS):
        raise click.UsageError(
            f'invalid taint spec "{spec}": '
            f"expected key[=value]:{'|'.join(EFFECTS)} or key[:effect]-"
        )
    return key, value, effect, remove


@click.command("taint")
@click.argument("args", nargs=-1, required=True)
@click.option("--overwrite", is_flag=True, help="Replace a taint with the same key and effect.")
@click.pass_obj
def taint_command(ctx: CtlContext, args: tuple[str, ...], overwrite: bool) -> None:
    """Add or remove node taints.

    \b
    Examples:
      shoal taint nodes node-1 dedicated=gpu:NoSchedule
      shoal taint node node-1 dedicated:NoSchedule-
      shoal taint node/node-1 dedicated-
    """
    words = [a for a in args if ":" not in a and not a.endswith("-") and "=" not in a]
    changes = [parse_taint(a) for a in args if a not in words]
    node = _node_name(words)
    if not changes:
        raise click.UsageError("at least one taint update is required")

    async def update(client: Any) -> None:
        from shoal.manifest import to_dict

        obj = to_dict(await client.get("Node", node, ""))
        taints = (obj.get("spec") or {}).get("taints") or []
        taints = apply_taints(taints, changes, overwrite)
        await client.patch("Node", node, {"spec": {"taints": taints}}, "")

    with_client(ctx, update)
    click.echo(f"node/{node} {'untainted' if all(c[3] for c in changes) else 'tainted'}")


def _node_name(words: list[str]) -> str:
    if len(words) == 1 and words[0].startswith(("node/", "nodes/", "no/")):
        return words[0].partition("/")[2]
    if len(words) == 2 and words[0] in ("node", "nodes", "no"):
        return words[1]
    raise click.UsageError("name one node: shoal taint nodes NAME key=value:Effect")


def apply_taints(
    taints: list[dict[str, str]], changes: list[Any], overwrite: bool
) -> list[dict[str, str]]:
    for key, value, effect, remove in changes:
        same = [t for t in taints if t["key"] == key and (not effect or t.get("effect") == effect)]
        if remove:
            if not same:
                raise click.ClickException(f"taint {key!r} not found")
            taints = [t for t in taints if t not in same]
        elif same and not overwrite:
            raise click.ClickException(
                f"node already has a taint with key ({key}) and effect ({effect}), "
                "and --overwrite is false"
            )
        else:
            taints = [t for t in taints if t not in same] + [
                {"key": key, "value": value, "effect": effect}
            ]
    return taints
