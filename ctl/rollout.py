"""``shoal rollout``: client-side, like kubectl's. The deployment controller
keeps one ReplicaSet per template revision (label ``pod-template-hash``,
annotation ``deployment.kubernetes.io/revision``, owned by the Deployment);
history, undo and status read those, restart/pause/resume write the Deployment.
DaemonSets and StatefulSets keep ControllerRevisions instead (see
:mod:`rollout_sets`)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import click
from shoal.ctl import rollout_sets
from shoal.ctl.context import CtlContext
from shoal.ctl.duration import Duration
from shoal.ctl.resources import Target, namespace_of, one_target, ref, with_client

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
HASH_LABEL = "pod-template-hash"


@click.group("rollout")
def rollout_command() -> None:
    """Manage the rollout of a deployment, daemon set or stateful set.

    \b
    Examples:
      shoal rollout status deployment/web
      shoal rollout history deployment/web
      shoal rollout undo deployment/web --to-revision=2
      shoal rollout restart deployment/web
      shoal rollout status ds/fluentd && shoal rollout undo sts/web
      shoal rollout pause deployment/web && shoal rollout resume deployment/web
    """


def _deployment(resource: tuple[str, ...]) -> Target:
    target = one_target(resource)
    if target.kind.kind != "Deployment":
        raise click.UsageError(f"rollout works on deployments, not {target.kind.plural}")
    return target


def _rollable(resource: tuple[str, ...]) -> Target:
    """A Deployment, DaemonSet or StatefulSet (pause and resume take only
    Deployments, as in kubectl)."""
    target = one_target(resource)
    if target.kind.kind not in ("Deployment", *rollout_sets.SETS):
        raise click.UsageError(
            f"rollout works on deployments, daemon sets and stateful sets, not {target.kind.plural}"
        )
    return target


async def _history(client: Any, target: Target, owner: Any) -> tuple[dict[int, Any], Any]:
    """(revisions by number, change cause of one revision)."""
    if target.kind.kind in rollout_sets.SETS:
        return await rollout_sets.revisions(client, owner), rollout_sets.change_cause
    found = await revisions(client, owner)
    return found, lambda rs: rs.metadata.annotations.get(CHANGE_CAUSE, "<none>")


async def revisions(client: Any, deploy: Any) -> dict[int, Any]:
    """The deployment's ReplicaSets by revision number."""
    listed = await client.list("ReplicaSet", deploy.metadata.namespace)
    owned = {}
    for rs in listed.items:
        if any(o.uid == deploy.metadata.uid and o.controller for o in rs.metadata.owner_references):
            try:
                owned[int(rs.metadata.annotations.get(REVISION, "0"))] = rs
            except ValueError:
                continue
    return owned


@rollout_command.command("history")
@click.argument("resource", nargs=-1, required=True)
@click.option("--revision", type=int, default=0, help="Show the pod template of one revision.")
@click.pass_obj
def history(ctx: CtlContext, resource: tuple[str, ...], revision: int) -> None:
    """List the revisions of a deployment, daemon set or stateful set."""
    target = _rollable(resource)

    async def read(client: Any) -> tuple[dict[int, Any], Any]:
        owner = await client.get(target.kind, target.name, namespace_of(ctx, target.kind))
        return await _history(client, target, owner)

    found, cause = with_client(ctx, read)
    if revision:
        if revision not in found:
            raise click.ClickException(f"unable to find the specified revision {revision}")
        _print_template(target, revision, found[revision])
        return
    from shoal.ctl.printers.table import render

    if not found:
        click.echo(f"No rollout history found for {ref(target.kind, target.name)}.")
        return
    click.echo(ref(target.kind, target.name))
    rows = [[str(n), cause(found[n])] for n in sorted(found)]
    click.echo(render(["REVISION", "CHANGE-CAUSE"], rows))


def _print_template(target: Target, revision: int, rs: Any) -> None:
    from shoal.ctl.printers import Printer
    from shoal.manifest import to_dict

    is_set = target.kind.kind in rollout_sets.SETS
    template = to_dict(rollout_sets.template_of(rs) if is_set else rs.spec.template)
    click.echo(f"{ref(target.kind, target.name)} with revision #{revision}")
    click.echo("Pod Template:")
    click.echo(
        "\n".join(
            "  " + line for line in Printer("yaml").text([template], single=True).splitlines()
        )
    )


@rollout_command.command("undo")
@click.argument("resource", nargs=-1, required=True)
@click.option(
    "--to-revision", type=int, default=0, help="The revision to go back to (0: previous)."
)
@click.pass_obj
def undo(ctx: CtlContext, resource: tuple[str, ...], to_revision: int) -> None:
    """Roll back to the previous (or a given) revision's pod template."""
    target = _rollable(resource)

    async def roll_back(client: Any) -> str:
        deploy = await client.get(target.kind, target.name, namespace_of(ctx, target.kind))
        if target.kind.kind in rollout_sets.SETS:
            return await rollout_sets.undo(client, deploy, to_revision)
        found = await revisions(client, deploy)
        rs = _pick(found, to_revision)
        template = type(rs.spec.template)()
        template.CopyFrom(rs.spec.template)
        template.metadata.labels.pop(HASH_LABEL, None)
        if template == deploy.spec.template:
            return "skipped rollback (current template already matches revision)"
        deploy.spec.template.CopyFrom(template)
        await client.update(deploy)
        return "rolled back"

    click.echo(f"{ref(target.kind, target.name)} {with_client(ctx, roll_back)}")


def _pick(found: dict[int, Any], to_revision: int) -> Any:
    if to_revision:
        if to_revision not in found:
            raise click.ClickException(
                f"unable to find specified revision {to_revision} in history"
            )
        return found[to_revision]
    numbers = sorted(found)
    if len(numbers) < 2:
        raise click.ClickException("no rollout history found: there is no previous revision")
    return found[numbers[-2]]


@rollout_command.command("restart")
@click.argument("resource", nargs=-1, required=True)
@click.pass_obj
def restart(ctx: CtlContext, resource: tuple[str, ...]) -> None:
    """Replace every pod, by stamping the template with the time (restartedAt)."""
    target = _rollable(resource)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    async def stamp_template(client: Any) -> None:
        ns = namespace_of(ctx, target.kind)
        deploy = await client.get(target.kind, target.name, ns)
        if target.kind.kind == "Deployment" and deploy.spec.paused:
            raise click.ClickException(
                f'can\'t restart paused deployment "{target.name}" (run rollout resume first)'
            )
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        await client.patch(target.kind, target.name, patch, ns)

    with_client(ctx, stamp_template)
    click.echo(f"{ref(target.kind, target.name)} restarted")


def _pause_command(name: str, paused: bool) -> click.Command:
    @click.command(name)
    @click.argument("resource", nargs=-1, required=True)
    @click.pass_obj
    def command(ctx: CtlContext, resource: tuple[str, ...]) -> None:
        target = _deployment(resource)

        async def flip(client: Any) -> None:
            ns = namespace_of(ctx, target.kind)
            deploy = await client.get(target.kind, target.name, ns)
            if deploy.spec.paused == paused:
                raise click.ClickException(
                    f'deployments.apps "{target.name}" is already '
                    + ("paused" if paused else "resumed")
                )
            await client.patch(target.kind, target.name, {"spec": {"paused": paused}}, ns)

        with_client(ctx, flip)
        click.echo(f"{ref(target.kind, target.name)} {name}d")

    command.help = "Pause a deployment's rollout." if paused else "Resume a paused deployment."
    return command


rollout_command.add_command(_pause_command("pause", True))
rollout_command.add_command(_pause_command("resume", False))


def rollout_state(deploy: Any) -> tuple[bool, str]:
    """(done, message), in kubectl's words; raises when the deadline passed."""
    name, status = deploy.metadata.name, deploy.status
    replicas = deploy.spec.replicas if deploy.spec.HasField("replicas") else 1
    if deploy.metadata.generation > status.observed_generation:
        return False, "Waiting for deployment spec update to be observed..."
    for condition in status.conditions:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            raise click.ClickException(f'deployment "{name}" exceeded its progress deadline')
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if status.updated_replicas < replicas:
        return (
            False,
            waiting
            + f"{status.updated_replicas} out of {replicas} new replicas have been updated...",
        )
    if status.replicas > status.updated_replicas:
        return (
            False,
            waiting + f"{status.replicas - status.updated_replicas} old replicas are pending "
            "termination...",
        )
    if status.available_replicas < replicas:
        return (
            False,
            waiting
            + f"{status.available_replicas} of {replicas} updated replicas are available...",
        )
    return True, f'deployment "{name}" successfully rolled out'


@rollout_command.command("status")
@click.argument("resource", nargs=-1, required=True)
@click.option(
    "-w", "--watch", type=bool, default=True, help="Keep watching until done (--watch=false: once)."
)
@click.option(
    "--timeout",
    type=Duration(),
    default="0",
    help="Give up after this long (e.g. 5m, 1m30s; 0: never).",
)
@click.pass_obj
def status(ctx: CtlContext, resource: tuple[str, ...], watch: bool, timeout: float) -> None:
    """Watch a rollout until it is complete (or failed)."""
    target = _rollable(resource)
    seconds = timeout or None

    async def follow(client: Any) -> bool:
        ns = namespace_of(ctx, target.kind)
        deploy = await client.get(target.kind, target.name, ns)
        return await asyncio.wait_for(_follow(client, target, ns, deploy, watch), seconds)

    try:
        done = with_client(ctx, follow)
    except TimeoutError:
        raise click.ClickException("timed out waiting for the rollout to finish") from None
    if not done:
        raise click.exceptions.Exit(1)


async def _follow(client: Any, target: Target, ns: str, deploy: Any, watch: bool) -> bool:
    last = ""
    state = rollout_sets.STATES.get(target.kind.kind, rollout_state)
    while True:
        done, message = state(deploy)
        if message != last:
            click.echo(message)
            last = message
        if done or not watch:
            return done
        async for event in client.watch(
            target.kind,
            ns,
            field_selector=f"metadata.name={target.name}",
            resource_version=deploy.metadata.resource_version,
        ):
            if event.type == "DELETED":
                raise click.ClickException(f'{target.kind.singular} "{target.name}" was deleted')
            if event.object is not None:
                deploy = event.object
                break
