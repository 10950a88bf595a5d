"""``shoal create -f`` and the generators: ``create deployment|namespace|
configmap|secret generic``, ``run`` (a pod) and ``expose`` (a service)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import one_target, ref, with_client

Obj = dict[str, Any]
DRY_RUN = click.option("--dry-run", type=click.Choice(["none", "server", "client"]), default="none")
OUTPUT = click.option("-o", "--output", default="", help="name|yaml|json: print the object.")


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

    create_from_files(click_ctx.obj, filenames, recursive, output, dry_run)


def submit(ctx: CtlContext, manifest: Obj, dry_run: str, output: str) -> None:
    """Create one generated object (or just print it with --dry-run=client)."""
    from shoal.manifest import from_dict, to_dict

    obj = from_dict(manifest)
    if dry_run != "client":
        obj = with_client(ctx, lambda client: client.create(obj, dry_run=dry_run == "server"))
    if output in ("yaml", "json"):
        from shoal.ctl.printers import Printer

        click.echo(Printer(output).text([to_dict(obj)], single=True))
        return
    from shoal import kinds

    name = ref(kinds.for_message(obj), obj.metadata.name)
    suffix = f" ({dry_run} dry run)" if dry_run != "none" else ""
    click.echo(name if output == "name" else f"{name} created{suffix}")


def _meta(ctx: CtlContext, name: str, namespaced: bool = True, **extra: Any) -> Obj:
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
) -> None:
    """Create a deployment running IMAGE (label app=NAME); after `--`, the
    command its first container runs, as kubectl takes it.

    \b
    Examples:
      shoal create deployment web --image=nginx:1.25 --replicas=3 --port=80
      shoal create deployment sleeper --image=shoal.local/busybox:latest -- sleep 3600
    """
    containers = [_container(image, port if i == 0 else None) for i, image in enumerate(images)]
    if command:
        containers[0]["command"] = list(command)
    labels = {"app": name}
    submit(
        ctx,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta(ctx, name, labels=labels),
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}},
            },
        },
        dry_run,
        output,
    )


def _container(image: str, port: int | None, name: str = "") -> Obj:
    # kubectl names a container after its image: "nginx:1.25" -> "nginx".
    base = name or image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
    container: Obj = {"name": base, "image": image}
    if port is not None:
        container["ports"] = [{"containerPort": port}]
    return container


@create_command.command("namespace")
@click.argument("name")
@DRY_RUN
@OUTPUT
@click.pass_obj
def create_namespace(ctx: CtlContext, name: str, dry_run: str, output: str) -> None:
    """Create a namespace."""
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    submit(ctx, manifest, dry_run, output)


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
) -> None:
    """Create a config map from literals and files."""
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(ctx, name)}
    data = _data(literals, files)
    if data:
        manifest["data"] = data
    submit(ctx, manifest, dry_run, output)


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
) -> None:
    """Create a secret from literals and files (stored base64-encoded, as Kubernetes)."""
    import base64

    data = {k: base64.b64encode(v.encode()).decode() for k, v in _data(literals, files).items()}
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(ctx, name),
        "type": secret_type,
    }
    if data:
        manifest["data"] = data
    submit(ctx, manifest, dry_run, output)


@click.command("run")
@click.argument("name")
@click.argument("command", nargs=-1)
@click.option("--image", required=True, help="The container image.")
@click.option("--port", type=int, default=None, help="The port the container exposes.")
@click.option("-l", "--labels", default="", help="Labels, a=b,c=d (default run=NAME).")
@click.option("--env", multiple=True, metavar="KEY=VALUE", help="Environment variables.")
@click.option("--restart", type=click.Choice(["Always", "OnFailure", "Never"]), default="Always")
@click.option("--command", "as_command", is_flag=True, help="Arguments are the command, not args.")
@DRY_RUN
@OUTPUT
@click.pass_obj
def run_command(
    ctx: CtlContext,
    name: str,
    command: tuple[str, ...],
    image: str,
    port: int | None,
    labels: str,
    env: tuple[str, ...],
    restart: str,
    as_command: bool,
    dry_run: str,
    output: str,
) -> None:
    """Run a pod with one container.

    \b
    Examples:
      shoal run web --image=nginx:1.25 --port=80
      shoal run once --image=busybox --restart=Never -- echo hello
    """
    container = _container(image, port, name)
    if command:
        container["command" if as_command else "args"] = list(command)
    if env:
        container["env"] = [
            dict(zip(("name", "value"), e.split("=", 1), strict=False)) for e in env
        ]
    chosen = _labels(labels) if labels else {"run": name}
    submit(
        ctx,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": _meta(ctx, name, labels=chosen),
            "spec": {"containers": [container], "restartPolicy": restart},
        },
        dry_run,
        output,
    )


def _labels(text: str) -> dict[str, str]:
    pairs = [part.partition("=") for part in text.split(",") if part]
    if any(not sep or not key for key, sep, _ in pairs):
        raise click.UsageError(f"invalid labels {text!r}: expected key=value,key=value")
    return {key: value for key, _, value in pairs}


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
            "metadata": _meta(
                ctx,
                service_name or target.name,
                labels=(source.get("metadata") or {}).get("labels") or {},
            ),
            "spec": {"selector": selector, "ports": [spec_port], "type": service_type},
        },
        dry_run,
        output,
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
