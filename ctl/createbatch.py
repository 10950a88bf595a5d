"""``shoal create job`` and ``shoal create cronjob``: the objects kubectl's
generators make (a container named after the job, restartPolicy Never for a
job and OnFailure for a cronjob's; ``--from=cronjob/NAME`` copies the
cronjob's job template, annotated ``cronjob.kubernetes.io/instantiate:
manual`` and owned by the cronjob)."""

from __future__ import annotations

from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.create import DRY_RUN, OUTPUT, object_meta, submit
from shoal.ctl.resources import with_client

Obj = dict[str, Any]
RESTART_POLICIES = ("OnFailure", "Never")


def _pod_template(name: str, image: str, command: tuple[str, ...], restart: str) -> Obj:
    container: Obj = {"name": name, "image": image}
    if command:
        container["command"] = list(command)
    return {"spec": {"containers": [container], "restartPolicy": restart}}


def _from_cron_job(ctx: CtlContext, name: str, source: str) -> Obj:
    kind, _, cron_name = source.partition("/")
    if kind.lower() not in ("cronjob", "cronjobs", "cj", "cronjob.batch") or not cron_name:
        raise click.UsageError(f"from must be an existing cronjob: {source}")
    from shoal.manifest import to_dict

    cron = with_client(ctx, lambda client: client.get("CronJob", cron_name, ctx.namespace))
    template = to_dict(cron).get("spec", {}).get("jobTemplate", {})
    meta = template.get("metadata") or {}
    annotations = {**(meta.get("annotations") or {}), "cronjob.kubernetes.io/instantiate": "manual"}
    owner = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": cron.metadata.name,
        "uid": cron.metadata.uid,
        "controller": True,
    }
    extra: Obj = {"annotations": annotations, "ownerReferences": [owner]}
    if meta.get("labels"):
        extra["labels"] = meta["labels"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": object_meta(ctx, name, **extra),
        "spec": template.get("spec") or {},
    }


@click.command("job")
@click.argument("name")
@click.argument("command", nargs=-1)
@click.option("--image", default="", help="The container image.")
@click.option("--from", "source", default="", help="cronjob/NAME: run its job template now.")
@DRY_RUN
@OUTPUT
@click.pass_obj
def create_job(
    ctx: CtlContext,
    name: str,
    command: tuple[str, ...],
    image: str,
    source: str,
    dry_run: str,
    output: str,
    template: str,
) -> None:
    """Create a job running IMAGE once (after `--`, its command), or a job
    from a cronjob's template (--from=cronjob/NAME).

    \b
    Examples:
      shoal create job pi --image=shoal.local/busybox -- sh -c 'echo 3.14159'
      shoal create job nightly-now --from=cronjob/nightly
    """
    if bool(image) == bool(source):
        raise click.UsageError("either --image or --from must be specified")
    if source:
        if command:
            raise click.UsageError("cannot specify --from and command")
        manifest = _from_cron_job(ctx, name, source)
    else:
        manifest = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": object_meta(ctx, name),
            "spec": {"template": _pod_template(name, image, command, "Never")},
        }
    submit(ctx, manifest, dry_run, output, template)


@click.command("cronjob")
@click.argument("name")
@click.argument("command", nargs=-1)
@click.option("--image", required=True, help="The container image.")
@click.option("--schedule", required=True, help="Cron schedule: '*/5 * * * *', '@hourly'.")
@click.option(
    "--restart",
    type=click.Choice(RESTART_POLICIES),
    default="OnFailure",
    show_default=True,
    help="The pods' restartPolicy.",
)
@DRY_RUN
@OUTPUT
@click.pass_obj
def create_cronjob(
    ctx: CtlContext,
    name: str,
    command: tuple[str, ...],
    image: str,
    schedule: str,
    restart: str,
    dry_run: str,
    output: str,
    template: str,
) -> None:
    """Create a cronjob that runs IMAGE (after `--`, its command) on SCHEDULE.

    \b
    Examples:
      shoal create cronjob tick --image=shoal.local/busybox --schedule='*/1 * * * *' -- date
      shoal create cronjob nightly --image=backup:1 --schedule=@daily
    """
    manifest = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": object_meta(ctx, name),
        "spec": {
            "schedule": schedule,
            "jobTemplate": {
                "metadata": {"name": name},
                "spec": {"template": _pod_template(name, image, command, restart)},
            },
        },
    }
    submit(ctx, manifest, dry_run, output, template)
