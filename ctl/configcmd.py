"""``shoal config``: read and change the client config file (like a kubeconfig)."""

from __future__ import annotations

from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.printers.flags import printer_options


@click.group("config")
def config_command() -> None:
    """View and change the client config: clusters, users and contexts.

    \b
    Examples:
      shoal config view
      shoal config get-contexts
      shoal config use-context staging
      shoal config set-context --current --namespace=web
    """


def _path(ctx: CtlContext):  # type: ignore[no-untyped-def]
    from shoal.config import config_path

    return config_path(ctx.config_path)


@config_command.command("view")
@click.option("--raw", is_flag=True, help="Show credentials and certificates too.")
@click.option("--minify", is_flag=True, help="Only what the current context uses.")
@click.option(
    "--kubeconfig",
    is_flag=True,
    help="Print a kubeconfig for kubectl, pointing at the HTTP gateway (shoal proxy or "
    "shoal server --http-listen), with your credentials in full (keep it private).",
)
@click.option(
    "--http-server",
    default="",
    metavar="URL",
    help="With --kubeconfig: the gateway URL (default: the cluster's, else shoal proxy's).",
)
@printer_options("yaml (the default)|json|jsonpath|go-template|…, with =TEMPLATE or --template")
@click.pass_obj
def view(
    ctx: CtlContext,
    raw: bool,
    minify: bool,
    kubeconfig: bool,
    http_server: str,
    output: str,
    template: str,
) -> None:
    """Print the config file (credentials and certificates hidden unless
    --raw, as kubectl). With --kubeconfig, a kubeconfig for real kubectl
    holding your own credentials in full, ready to use.

    \b
    For real kubectl:
      shoal config view --kubeconfig > ~/.kube/shoal.yaml
      kubectl --kubeconfig ~/.kube/shoal.yaml get pods
      shoal config view -o jsonpath='{.contexts[*].name}'
    """
    from shoal.config import read
    from shoal.ctl.printers import Printer

    printer = Printer(output or ("" if template else "yaml"), template=template)

    data = read(_path(ctx))
    if kubeconfig:
        from shoal.plugins.gateway.kubeconfig import kubeconfig as make_kubeconfig

        data = make_kubeconfig(data, ctx.context_name, http_server)
    if minify:
        current = ctx.context_name or data.get("current-context", "")
        data["contexts"] = [c for c in data.get("contexts") or [] if c.get("name") == current]
        used = {(c.get("context") or {}).get("cluster") for c in data["contexts"]}
        users = {(c.get("context") or {}).get("user") for c in data["contexts"]}
        data["clusters"] = [c for c in data.get("clusters") or [] if c.get("name") in used]
        data["users"] = [u for u in data.get("users") or [] if u.get("name") in users]
    if not raw and not kubeconfig:  # a kubeconfig is made to be used: the real credential
        _redact(data)
    printer.echo(printer.text([data], single=True))


# What kubectl config view hides without --raw, and the word it puts instead.
HIDDEN = {
    "token": "REDACTED",
    "password": "REDACTED",
    "client-key-data": "DATA+OMITTED",
    "client-certificate-data": "DATA+OMITTED",
    "certificate-authority-data": "DATA+OMITTED",
}


def _redact(data: dict[str, Any]) -> None:
    entries = [(u, "user") for u in data.get("users") or []]
    entries += [(c, "cluster") for c in data.get("clusters") or []]
    for entry, body in entries:
        fields = entry.get(body) or {}
        for name, word in HIDDEN.items():
            if fields.get(name):
                fields[name] = word


@config_command.command("get-contexts")
@click.argument("name", required=False)
@click.option("-o", "--output", type=click.Choice(["name"]), default=None)
@click.pass_obj
def get_contexts(ctx: CtlContext, name: str | None, output: str | None) -> None:
    """List the contexts; * marks the current one."""
    from shoal.config import read
    from shoal.ctl.printers.table import render

    data = read(_path(ctx))
    contexts = [c for c in data.get("contexts") or [] if not name or c.get("name") == name]
    if name and not contexts:
        raise click.ClickException(f"context {name} not found")
    if output == "name":
        click.echo("\n".join(c.get("name", "") for c in contexts))
        return
    current = data.get("current-context", "")
    rows = []
    for c in contexts:
        body = c.get("context") or {}
        rows.append(
            [
                "*" if c.get("name") == current else "",
                c.get("name", ""),
                body.get("cluster", ""),
                body.get("user", ""),
                body.get("namespace", ""),
            ]
        )
    click.echo(render(["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"], rows))


@config_command.command("current-context")
@click.pass_obj
def current_context(ctx: CtlContext) -> None:
    """Print the current context's name."""
    from shoal.config import read

    current = read(_path(ctx)).get("current-context")
    if not current:
        raise click.ClickException("current-context is not set")
    click.echo(current)


@config_command.command("use-context")
@click.argument("name")
@click.pass_obj
def use_context(ctx: CtlContext, name: str) -> None:
    """Make a context the current one."""
    from shoal.config import read, write

    path = _path(ctx)
    data = read(path)
    if not any(c.get("name") == name for c in data.get("contexts") or []):
        raise click.ClickException(f'no context exists with the name: "{name}"')
    data["current-context"] = name
    write(path, data)
    click.echo(f'Switched to context "{name}".')


@config_command.command("set-context")
@click.argument("name", required=False)
@click.option("--current", is_flag=True, help="Change the current context.")
@click.option("--cluster", default=None)
@click.option("--user", default=None)
@click.option("--namespace", default=None)
@click.pass_obj
def set_context(
    ctx: CtlContext,
    name: str | None,
    current: bool,
    cluster: str | None,
    user: str | None,
    namespace: str | None,
) -> None:
    """Create a context or change fields of one."""
    from shoal.config import read, write

    path = _path(ctx)
    data = read(path)
    if current == bool(name):
        raise click.UsageError("give a context NAME or --current (not both)")
    chosen = name or data.get("current-context") or ""
    if not chosen:
        raise click.ClickException("no current context is set")
    contexts = data.setdefault("contexts", []) or []
    entry = next((c for c in contexts if c.get("name") == chosen), None)
    created = entry is None
    if entry is None:
        entry = {"name": chosen, "context": {}}
        contexts.append(entry)
    data["contexts"] = contexts
    body = entry.setdefault("context", {})
    for key, value in (("cluster", cluster), ("user", user), ("namespace", namespace)):
        if value is not None:
            body[key] = value
    write(path, data)
    click.echo(f'Context "{chosen}" {"created" if created else "modified"}.')
