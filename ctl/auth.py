"""``shoal auth can-i``: may I (or the user I name with ``--as``) do this?
Asks the server's Authorization service, as kubectl asks for a
SelfSubjectAccessReview; prints yes or no and exits 0 or 1."""

from __future__ import annotations

from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.resources import with_client


@click.group("auth")
def auth_command() -> None:
    """Inspect authorization."""


@auth_command.command("can-i")
@click.argument("verb", required=False, default="")
@click.argument("resource", required=False, default="")
@click.argument("name", required=False, default="")
@click.option("-A", "--all-namespaces", is_flag=True, help="In every namespace.")
@click.option("--as", "as_user", default="", help="Ask for this user (impersonation).")
@click.option("--as-group", multiple=True, help="Groups of the --as user (repeatable).")
@click.option("--list", "list_rules", is_flag=True, help="List everything allowed.")
@click.option("-q", "--quiet", is_flag=True, help="No output; only the exit code.")
@click.pass_obj
def can_i_command(
    ctx: CtlContext,
    verb: str,
    resource: str,
    name: str,
    all_namespaces: bool,
    as_user: str,
    as_group: tuple[str, ...],
    list_rules: bool,
    quiet: bool,
) -> None:
    """Check whether an action is allowed.

    \b
    Examples:
      shoal auth can-i create pods
      shoal auth can-i delete deployments.apps web -n prod
      shoal auth can-i get pods/log --as alice
      shoal auth can-i get /healthz
      shoal auth can-i --list -n dev
    """
    from shoal.api.v1 import authorization_pb2 as pb

    if as_group and not as_user:
        raise click.UsageError("--as-group needs --as")
    impersonate = pb.Impersonation(user=as_user, groups=list(as_group))
    namespace = "" if all_namespaces else ctx.client_config().namespace
    if list_rules:
        request = pb.RulesReviewRequest(namespace=namespace, impersonate=impersonate)
        answer = with_client(ctx, lambda client: _call(client, "Rules", request))
        click.echo(rules_table(answer.rules), nl=False)
        return
    if not verb or not resource:
        raise click.UsageError(
            "you must specify two arguments: verb resource or verb resource/name"
        )
    request = access_request(verb, resource, name, namespace, impersonate)
    answer = with_client(ctx, lambda client: _call(client, "Review", request))
    if not quiet:
        click.echo("yes" if answer.allowed else "no")
    raise click.exceptions.Exit(0 if answer.allowed else 1)


def access_request(verb: str, resource: str, name: str, namespace: str, impersonate: Any) -> Any:
    """The review of ``verb resource [name]``; a path ("/healthz") is non-resource."""
    from shoal import kinds
    from shoal.api.v1 import authorization_pb2 as pb

    if resource.startswith("/"):
        path = pb.NonResourceAttributes(verb=verb, path=resource)
        return pb.AccessReviewRequest(non_resource_attributes=path, impersonate=impersonate)
    if "/" in resource and not name:  # kubectl's "pods/web" form
        head, _, tail = resource.partition("/")
        if _served(head) and not _known_subresource(tail):
            resource, name = head, tail
    plural, _, subresource = resource.partition("/")
    group, namespaced = "", True
    try:
        kind = kinds.resolve(plural)
        plural, group, namespaced = kind.plural, kind.group, kind.namespaced
    except kinds.UnknownKindError:
        if plural != "*":
            head, _, rest = plural.partition(".")
            plural, group = head, rest
            click.echo(f"Warning: the server doesn't have a resource type '{resource}'", err=True)
    attrs = pb.ResourceAttributes(
        verb=verb,
        group=group,
        resource=plural,
        subresource=subresource,
        namespace=namespace if namespaced else "",
        name=name,
    )
    return pb.AccessReviewRequest(resource_attributes=attrs, impersonate=impersonate)


SUBRESOURCES = ("status", "log", "exec", "portforward", "proxy", "binding", "scale", "attach")


def _known_subresource(name: str) -> bool:
    return name in SUBRESOURCES


async def _call(client: Any, method: str, request: Any) -> Any:
    import grpc
    from shoal import errors
    from shoal.api.v1 import authorization_pb2_grpc

    stub = authorization_pb2_grpc.AuthorizationStub(client.channel)
    try:
        return await getattr(stub, method)(request, metadata=_metadata(client))
    except grpc.aio.AioRpcError as err:
        raise errors.from_status(
            err.code(), err.details() or "", err.trailing_metadata() or ()
        ) from None


def _metadata(client: Any) -> Any:
    from shoal.client.client import call_metadata

    return call_metadata.get() or None


def rules_table(rules: Any) -> str:
    """kubectl's table: Resources, Non-Resource URLs, Resource Names, Verbs."""
    rows = [("Resources", "Non-Resource URLs", "Resource Names", "Verbs")]
    for rule in rules:
        resources = [
            f"{r}.{g}" if g not in ("", "*") or (g == "*" and r != "*") else r
            for g in (rule.api_groups or [""])
            for r in rule.resources
        ]
        rows.append(
            (
                _joined(resources) if resources else "",
                _joined(rule.non_resource_urls),
                _joined(rule.resource_names),
                _joined(rule.verbs),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "".join(
        f"{row[0]:<{widths[0]}}   {row[1]:<{widths[1]}}   {row[2]:<{widths[2]}}   {row[3]}".rstrip()
        + "\n"
        for row in rows
    )


def _joined(items: Any) -> str:
    return "[" + " ".join(items) + "]" if items else "[]"


def _served(name: str) -> bool:
    from shoal import kinds

    return kinds.is_served(name)
