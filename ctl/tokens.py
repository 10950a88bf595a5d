"""``shoal token create|list|delete``: the cluster's join tokens, like
``kubeadm token``; ``shoal create token --join`` is ``shoal token create``."""

from __future__ import annotations

import asyncio
import time

import click
from shoal.ctl.certs import _tokens_call
from shoal.ctl.context import CtlContext
from shoal.ctl.duration import Duration

TTL_HELP = "Lifetime (30m, 24h, 7d); 0 never expires, as kubeadm's --ttl."


def ttl_seconds(seconds: float) -> int:
    """A ``--ttl`` as the API takes it: whole seconds, ``0`` -> -1 (never expires)."""
    return -1 if seconds == 0 else max(1, round(seconds))


def create_join_token(ctx: CtlContext, ttl: float, description: str) -> None:
    from shoal.api.v1 import certificates_pb2

    request = certificates_pb2.CreateJoinTokenRequest(
        ttl_seconds=ttl_seconds(ttl), description=description
    )
    answer = asyncio.run(_tokens_call(ctx, "CreateJoinToken", request))
    click.echo(answer.token)


@click.group("token")
def token_command() -> None:
    """Join tokens: what `shoal agent --token` joins a node with.

    \b
    Examples:
      shoal token create --ttl 2h
      shoal token list
      shoal token delete 3f9c1a
    """


@token_command.command("create")
@click.option("--ttl", type=Duration(), default="24h", show_default=True, help=TTL_HELP)
@click.option("--description", default="", help="A note shown by `shoal token list`.")
@click.pass_obj
def create_command(ctx: CtlContext, ttl: float, description: str) -> None:
    """Make a join token (prints it: give it to `shoal agent --token`)."""
    create_join_token(ctx, ttl, description)


@token_command.command("list")
@click.pass_obj
def list_command(ctx: CtlContext) -> None:
    """The join tokens, with their expiry (never their secrets)."""
    from shoal.api.v1 import certificates_pb2

    answer = asyncio.run(
        _tokens_call(ctx, "ListJoinTokens", certificates_pb2.ListJoinTokensRequest())
    )
    rows = [("ID", "TTL", "EXPIRES", "DESCRIPTION")]
    now = time.time()
    for token in answer.tokens:
        rows.append((token.id, *_expiry(token.expiration_timestamp, now), token.description))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("   ".join([*cells, row[3]]).rstrip())


def _expiry(expires: int, now: float) -> tuple[str, str]:
    if not expires:
        return "<forever>", "<never>"
    left = expires - now
    if left <= 0:
        ttl = "<expired>"
    elif left >= 86400:
        ttl = f"{left / 86400:.0f}d"
    elif left >= 3600:
        ttl = f"{left / 3600:.0f}h"
    else:
        ttl = f"{max(left / 60, 1):.0f}m"
    return ttl, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))


@token_command.command("delete")
@click.argument("token_ids", nargs=-1, required=True, metavar="ID...")
@click.pass_obj
def delete_command(ctx: CtlContext, token_ids: tuple[str, ...]) -> None:
    """Refuse join tokens from now on (their id, or the whole token)."""
    from shoal.api.v1 import certificates_pb2

    for given in token_ids:
        token_id = given.rpartition("::")[2].partition(".")[0]
        request = certificates_pb2.DeleteJoinTokenRequest(id=token_id)
        asyncio.run(_tokens_call(ctx, "DeleteJoinToken", request))
        click.echo(f'bootstrap token "{token_id}" deleted')
