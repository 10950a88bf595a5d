"""``shoal create -f`` and the generators: ``create deployment|namespace|
configmap|secret generic`` and ``expose`` (a service); ``run`` is in run.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.printers.flags import FORMATS_HELP, printer_options
from shoal.ctl.resources import one_target, ref, with_client

Obj = dict[str, Any]
DRY_RUN = click.option(
    "--dry-run",
    type=click.Choice(["none", "server", "client"]),
    default="none",
    help="client: only print the object; server: have it checked, keep nothing.",
)
OUTPUT = printer_options(FORMATS_HELP + "; default: kind/name created")
# what kubectl adds to "created" for each --dry-run
DRY_RUN_SUFFIX = {"client": " (dry run)", "server": " (server dry run)"}


@click.group("create", invoke_without_command=True)
@click.option("-f", "--filename", "filenames", multiple=True, help="File, folder or -.")
@click.option("-R", "--recursive", is_flag=True, help="Read folders below too.")
@DRY_RUN
@OUTPUT
@click.pass_context
def create_command(
    click_ctx: click.Context,
    filenames: tuple[str, ...],
    recursive: bool,
    dry_run: str,
    output: str,
    template: str,
) -> None:
    """Create objects from files (-f) or with a generator below.

    \b
    Examples:
      shoal create -f pod.yaml
      shoal create deployment web --image=nginx:1.25 --replicas=3 --port=80
      shoal create namespace staging
      shoal create configmap app --from-literal=mode=fast --from-file=app.conf
      shoal create secret generic db --from-literal=password=s3cret
    """
    if click_ctx.invoked_subcommand is not None:
        return
    if not filenames:
        raise click.UsageError("must specify -f FILENAME or a generator (e.g. deployment)")
    from shoal.ctl.apply import create_from_files
    from shoal.ctl.printers import Printer

    printer = Printer(output, template=template)
    create_from_files(click_ctx.obj, filenames, recursive, printer, dry_run)


def submit(ctx: CtlContext, manifest: Obj, dry_run: str, output: str, template: str = "") -> None:
    """Create one generated object (or just print it with --dry-run=client)."""
    from shoal.ctl.printers import Printer
    from shoal.manifest import from_dict, to_dict

    printer = Printer(output, template=template)  # a bad -o fails before anything is made
    obj = from_dict(manifest)
    if dry_run != "client":
        obj = with_client(ctx, lambda client: client.create(obj, dry_run=dry_run == "server"))
    if printer.format not in ("", "name"):
        printer.echo(printer.text([to_dict(obj)], single=True))
        return
    from shoal import kinds

    name = ref(kinds.for_message(obj), obj.metadata.name)
    suffix = DRY_RUN_SUFFIX.get(dry_run, "")
    click.echo(name if printer.format == "name" else f"{name} created{suffix}")


def object_meta(ctx: CtlContext, name: str, namespaced: bool = True, **extra: Any) -> Obj:
    meta: Obj = {"name": name, **extra}
    if namespaced and ctx.namespace:
        meta["namespace"] = ctx.namespace
    return meta


@create_command.command("deployment")
@click.argument("name")
@click.argument("command", nargs=-1)
@click.option("--image", "images", multiple=True, required=True, help="Container image(s).")
@click.option("--replicas", type=int, default=1, show_default=True)
@click.option("--port", type=int, default=None, help="The port the container exposes.")
@DRY_RUN
@OUTPUT
@click.pass_obj
def create_deployment(
    ctx: CtlContext,
    name: str,
    command: tuple[str, ...],
    images: tuple[str, ...],
    replicas: int,
    port: int | None,
    dry_run: str,
    output: str,
    template: str,
) -> None:
    """Create a deployment running IMAGE (label app=NAME), a container per
    --image; after `--`, the command its one container runs, as kubectl takes it.

    \b
    Examples:
      shoal create deployment web --image=nginx:1.25 --replicas=3 --port=80
      shoal create deployment sleeper --image=shoal.local/busybox:latest -- sleep 3600
      shoal create deployment web --image=nginx --dry-run=client -o yaml
    """
    if command and len(images) > 1:
        raise ValueError("cannot specify multiple --image options and command")
    containers = [new_container(image, port if i == 0 else None) for i, image in enumerate(images)]
    if command:
        containers[0]["command"] = list(command)
    labels = {"app": name}
    submit(
        ctx,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": object_meta(ctx, name, labels=labels),
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}},
            },
        },
        dry_run,
        output,
        template,
    )


def new_container(image: str, port: int | None, name: str = "") -> Obj:
    container: Obj = {"name": name or container_name(image), "image": image}
    if port is not None:
        container["ports"] = [{"containerPort": port}]
    return container


def container_name(image: str) -> str:
    """kubectl's name for a container of IMAGE: "reg/nginx:1.25" -> "nginx";
    "my_app" is no DNS label, so "my-app-" and five random characters."""
    base = image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
    if "_" not in base:
        return base
    import secrets

    # the alphabet of Kubernetes' utilrand.String: no vowels, no look-alikes
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return base.replace("_", "-") + "-" + "".join(secrets.choice(alphabet) for _ in range(5))


@create_command.command("namespace")
@click.argument("name")
@DRY_RUN
@OUTPUT
@click.pass_obj
def create_namespace(ctx: CtlContext, name: str, dry_run: str, output: str, template: str) -> None:
    """Create a namespace."""
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    submit(ctx, manifest, dry_run, output, template)


def _data(literals: tuple[str, ...], files: tuple[str, ...]) -> dict[str, str]:
    data: dict[str, str] = {}
    for literal in literals:
        key, sep, value = literal.partition("=")
        if not sep or not key:
            raise click.UsageError(f"invalid literal source {literal}, expected key=value")
        data[key] = value
    for spec in files:
        key, sep, path = spec.partition("=")
        path = path if sep else key
        key = key if sep else Path(path).name
        try:
            data[key] = Path(path).read_text()
        except OSError as err:
            raise click.UsageError(f"error reading {path}: {err.strerror}") from None
    return data


@create_command.command("configmap")
@click.argument("name")
@click.option("--from-literal", "literals", multiple=True, metavar="KEY=VALUE")
@click.option("--from-file", "files", multiple=True, metavar="[KEY=]PATH")
@DRY_RUN
@OUTPUT
@click.pass_obj
def create_configmap(
    ctx: CtlContext,
    name: str,
    literals: tuple[str, ...],
    files: tuple[str, ...],
    dry_run: str,
    output: str,
    template: str,
) -> None:
    """Create a config map from literals and files."""
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": object_meta(ctx, name)}
    data = _data(literals, files)
    if data:
        manifest["data"] = data
    submit(ctx, manifest, dry_run, output, template)


@create_command.group("secret")
def create_secret() -> None:
    """Create a secret (generic)."""


@create_secret.command("generic")
@click.argument("name")
@click.option("--from-literal", "literals", multiple=True, metavar="KEY=VALUE")
@click.option("--from-file", "files", multiple=True, metavar="[KEY=]PATH")
@click.option("--type", "secret_type", default="Opaque", show_default=True)
@DRY_RUN
@OUTPUT
@click.pass_obj
def create_secret_generic(
    ctx: CtlContext,
    name: str,
    literals: tuple[str, ...],
    files: tuple[str, ...],
    secret_type: str,
    dry_run: str,
    output: str,
    template: str,
) -> None:
    """Create a secret from literals and files (stored base64-encoded, as Kubernetes)."""
    import base64

    data = {k: base64.b64encode(v.encode()).decode() for k, v in _data(literals, files).items()}
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_meta(ctx, name),
        "type": secret_type,
    }
    if data:
        manifest["data"] = data
    submit(ctx, manifest, dry_run, output, template)


@click.command("expose")
@click.argument("resource", nargs=-1, required=True)
@click.option("--port", type=int, default=None, help="The service's port.")
@click.option("--target-port", default="", help="The container port (number or name).")
@click.option(
    "--type", "service_type", type=click.Choice(["ClusterIP", "NodePort"]), default="ClusterIP"
)
@click.option("--name", "service_name", default="", help="The service's name.")
@click.option("--protocol", default="TCP", show_default=True)
@DRY_RUN
@OUTPUT
@click.pass_obj
def expose_command(
    ctx: CtlContext,
    resource: tuple[str, ...],
    port: int | None,
    target_port: str,
    service_type: str,
    service_name: str,
    protocol: str,
    dry_run: str,
    output: str,
    template: str,
) -> None:
    """Make a service for a deployment, replica set, replication controller or pod.

    \b
    Examples:
      shoal expose deployment web --port=80 --target-port=8080
      shoal expose rc web --port=80 --type=NodePort --name=web-public
    """
    target = one_target(resource)
    if target.kind.kind not in ("Deployment", "ReplicaSet", "ReplicationController", "Pod"):
        raise click.UsageError(f"cannot expose a {target.kind.kind}")
    from shoal.manifest import to_dict

    source = to_dict(with_client(ctx, lambda c: c.get(target.kind, target.name, None)))
    selector, ports = _selector_and_ports(source)
    chosen = port or (ports[0] if ports else None)
    if chosen is None:
        raise click.UsageError("couldn't find port via --port flag or introspection")
    spec_port: Obj = {"port": chosen, "protocol": protocol}
    if target_port or ports:
        spec_port["targetPort"] = (
            int(target_port) if target_port.isdigit() else (target_port or chosen)
        )
    submit(
        ctx,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": object_meta(
                ctx,
                service_name or target.name,
                labels=(source.get("metadata") or {}).get("labels") or {},
            ),
            "spec": {"selector": selector, "ports": [spec_port], "type": service_type},
        },
        dry_run,
        output,
        template,
    )


def _selector_and_ports(source: Obj) -> tuple[dict[str, str], list[int]]:
    spec = source.get("spec") or {}
    if source["kind"] == "Pod":
        selector, pod_spec = (source.get("metadata") or {}).get("labels") or {}, spec
    else:
        raw = spec.get("selector") or {}
        selector = raw.get("matchLabels", raw) if source["kind"] != "ReplicationController" else raw
        if isinstance(raw, dict) and raw.get("matchExpressions"):
            raise click.UsageError("cannot expose an object whose selector uses expressions")
        pod_spec = (spec.get("template") or {}).get("spec") or {}
    if not selector:
        raise click.UsageError("couldn't retrieve selectors via --selector flag or introspection")
    ports = [
        p["containerPort"]
        for c in pod_spec.get("containers") or []
        for p in c.get("ports") or []
        if "containerPort" in p
    ]
    return dict(selector), ports
