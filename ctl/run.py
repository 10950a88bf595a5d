"""``shoal run``: a pod with one container, the object ``kubectl run`` makes
(labelled run=NAME, the container named after the pod), with kubectl's flags:
``--image-pull-policy``, ``--env``, ``--port``, ``--labels``, ``--annotations``,
``--restart``, ``--command``, ``--overrides``, ``--dry-run`` and ``-o``; with
``-i`` (``-t``) it attaches to the container once it runs, and ``--rm``
deletes the pod after (``shoal.ctl.attach``)."""

from __future__ import annotations

import json
from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.create import DRY_RUN, OUTPUT, new_container, object_meta, submit
from shoal.ctl.duration import Duration

Obj = dict[str, Any]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]


@click.command("run")
@click.argument("name")
@click.argument("command", nargs=-1)
@click.option("--image", required=True, help="The container image.")
@click.option(
    "--image-pull-policy",
    type=click.Choice(PULL_POLICIES),
    default=None,
    help="When the node pulls the image (default: the server's, by the tag).",
)
@click.option("--port", type=int, default=None, help="The port the container exposes.")
@click.option("-l", "--labels", default="", help="Labels, a=b,c=d (default run=NAME).")
@click.option("--annotations", multiple=True, metavar="KEY=VALUE", help="Pod annotations.")
@click.option("--env", multiple=True, metavar="KEY=VALUE", help="Environment variables.")
@click.option("--restart", type=click.Choice(["Always", "OnFailure", "Never"]), default="Always")
@click.option("--command", "as_command", is_flag=True, help="Arguments are the command, not args.")
@click.option(
    "--overrides",
    default="",
    metavar="JSON",
    help="Inline JSON merged into the generated pod (see --override-type).",
)
@click.option(
    "--override-type",
    type=click.Choice(["merge", "strategic", "json"]),
    default="merge",
    show_default=True,
    help="How --overrides applies: JSON merge patch, strategic merge or JSON patch.",
)
@click.option("-i", "--stdin", is_flag=True, help="Keep the container's stdin open; attach.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a terminal for the container (with -i).")
@click.option("--rm", is_flag=True, help="Delete the pod when the attach ends (with -i).")
@click.option(
    "--pod-running-timeout",
    type=Duration(minimum=0.01),
    default="1m",
    show_default=True,
    help="How long -i waits for the pod to run.",
)
@DRY_RUN
@OUTPUT
@click.pass_obj
def run_command(
    ctx: CtlContext, name: str, command: tuple[str, ...], image: str, **opts: Any
) -> None:
    """Run a pod with one container.

    \b
    Examples:
      shoal run web --image=nginx:1.25 --port=80
      shoal run once --image=busybox --restart=Never -- echo hello
      shoal run sh --image=busybox --command -- sleep 3600
      shoal run web --image=nginx --image-pull-policy=Never --env=MODE=fast
      shoal run web --image=nginx --dry-run=client -o yaml
      shoal run web --image=nginx --overrides='{"spec":{"nodeName":"node-1"}}'
      shoal run -it --rm shell --image=busybox --restart=Never -- sh
    """
    if opts["tty"] and not opts["stdin"]:
        raise click.UsageError("-i/--stdin is required for containers with -t/--tty")
    if opts["rm"] and not opts["stdin"]:
        raise click.UsageError("--rm should only be used for attached containers (-i)")
    pod = pod_manifest(ctx, name, command, image, opts)
    if opts["overrides"]:
        pod = apply_overrides(pod, opts["overrides"], opts["override_type"])
    if not opts["stdin"] or opts["dry_run"] != "none":
        submit(ctx, pod, opts["dry_run"], opts["output"], opts["template"])
        return
    from shoal.ctl.attach import run_attached

    run_attached(ctx, pod, tty=opts["tty"], rm=opts["rm"], timeout=opts["pod_running_timeout"])


def pod_manifest(
    ctx: CtlContext, name: str, command: tuple[str, ...], image: str, opts: dict[str, Any]
) -> Obj:
    """The pod kubectl run generates for these flags."""
    container = new_container(image, opts["port"], name)
    if command:
        container["command" if opts["as_command"] else "args"] = list(command)
    if opts["env"]:
        container["env"] = [_env(e) for e in opts["env"]]
    if opts["image_pull_policy"]:
        container["imagePullPolicy"] = opts["image_pull_policy"]
    if opts.get("stdin"):  # as kubectl run -i: stdin for the first attach only
        container.update(stdin=True, stdinOnce=True, tty=bool(opts.get("tty")))
    extra: Obj = {"labels": _pairs(opts["labels"].split(","), "labels") or {"run": name}}
    if opts["annotations"]:
        extra["annotations"] = _pairs(opts["annotations"], "annotations")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": object_meta(ctx, name, **extra),
        "spec": {
            "containers": [container],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": opts["restart"],
        },
    }


def _env(text: str) -> Obj:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.UsageError(f"invalid env: {text}")
    return {"name": key, "value": value}


def _pairs(items: Any, flag: str) -> dict[str, str]:
    pairs = [item.partition("=") for item in items if item]
    for key, sep, _ in pairs:
        if not sep or not key:
            raise click.UsageError(f"invalid --{flag} {','.join(items)!r}: expected key=value")
    return {key: value for key, _, value in pairs}


def apply_overrides(obj: Obj, overrides: str, override_type: str) -> Obj:
    """``--overrides`` applied to the generated object, as kubectl's
    ``--override-type`` says (merge by default)."""
    from shoal.apiserver.patch import merge_patch
    from shoal.plugins.gateway.jsonpatch import json_patch
    from shoal.plugins.gateway.status import StatusError
    from shoal.plugins.gateway.strategic import strategic_merge

    try:
        patch = json.loads(overrides)
    except ValueError as err:
        raise ValueError(f"--overrides is not valid JSON: {err}") from None
    if override_type != "json" and not isinstance(patch, dict):
        raise ValueError("--overrides must be a JSON object")
    apply = {"merge": merge_patch, "strategic": strategic_merge, "json": json_patch}
    try:
        result: Obj = apply[override_type](obj, patch)
    except (StatusError, LookupError, TypeError) as err:
        raise ValueError(f"--overrides: {err}") from None
    return result
