"""``shoal certs check|rotate`` (like ``kubeadm certs``), on the server's
data directory; ``shoal create token`` / ``shoal revoke-token`` for
service-account tokens (and revoking admin.conf's), through the API."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

import click
from shoal.ctl.context import CtlContext
from shoal.ctl.duration import Duration

DATA_DIR = "~/.shoal/server"


def _pki(data_dir: str, pki_dir: str) -> Any:
    from shoal.apiserver.pkifiles import ServerPKI

    root = pathlib.Path(data_dir).expanduser()
    directory = pathlib.Path(pki_dir).expanduser() if pki_dir else root / "pki"
    if not (directory / "ca.crt").exists():
        raise click.ClickException(
            f"no CA in {directory}: is --data-dir the server's? (`shoal server` makes it)"
        )
    return ServerPKI(directory)


def _age(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:.0f}d" if abs(days) >= 1 else f"{seconds / 3600:.0f}h"


def _rows(server_pki: Any) -> list[tuple[str, ...]]:
    from shoal import pki
    from shoal.apiserver.pkifiles import LEAVES

    now = pki.now()
    rows: list[tuple[str, ...]] = []
    for name, cert in [("ca", server_pki.ca.cert)] + [
        (leaf, pair.cert) for leaf in LEAVES if (pair := server_pki.load(leaf)) is not None
    ]:
        left = (cert.not_valid_after_utc - now).total_seconds()
        state = "expired" if left <= 0 else "renew" if pki.needs_renewal(cert, now) else "ok"
        cn, orgs = pki.identity(cert)
        subject = cn + (f" ({', '.join(orgs)})" if orgs else "")
        expires = cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")
        rows.append((name, subject, expires, _age(max(left, 0)), state))
    return rows


@click.group("certs")
def certs_command() -> None:
    """Show and renew the cluster's certificates (on the server's machine).

    \b
    Examples:
      shoal certs check --data-dir ~/.shoal/server
      shoal certs rotate --data-dir ~/.shoal/server
    """


_dir = click.option("--data-dir", default=DATA_DIR, show_default=True, help="The server's.")
_pki_dir = click.option("--pki-dir", default="", help="If not DATA_DIR/pki.")


@certs_command.command("check")
@_dir
@_pki_dir
def check(data_dir: str, pki_dir: str) -> None:
    """Each certificate's subject and expiry; renew = less than a third of its life left."""
    rows = [
        ("CERTIFICATE", "SUBJECT", "EXPIRES", "RESIDUAL", "STATE"),
        *_rows(_pki(data_dir, pki_dir)),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("   ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@certs_command.command("rotate")
@_dir
@_pki_dir
@click.argument("names", nargs=-1)
def rotate(data_dir: str, pki_dir: str, names: tuple[str, ...]) -> None:
    """New keys and certificates from the same CA (all, or NAMES); refreshes admin.conf.

    A running server serves the new serving certificate from its next
    connection on; its control plane and gateway take theirs at restart.
    Agents keep their node certificates (same CA) and renew them themselves.
    """
    from shoal.apiserver.pkifiles import LEAVES

    server_pki = _pki(data_dir, pki_dir)
    unknown = [n for n in names if n not in LEAVES]
    if unknown:
        raise click.BadParameter(
            f"unknown certificate {unknown[0]!r}; one of {', '.join(LEAVES)}", param_hint="NAMES"
        )
    for leaf in names or tuple(LEAVES):
        pair = server_pki.rotate(leaf)
        click.echo(f"✓ {leaf} renewed, expires {pair.cert.not_valid_after_utc:%Y-%m-%d}")
    if not names or "admin" in names:
        _refresh_admin_config(pathlib.Path(data_dir).expanduser() / "admin.conf", server_pki)


def _refresh_admin_config(path: pathlib.Path, server_pki: Any) -> None:
    """The new certificate, and a new bearer token (the old one stops working)."""
    from shoal import config
    from shoal.apiserver import admintoken
    from shoal.apiserver.security import user_entry
    from shoal.apiserver.tokens import StaticTokens

    try:
        data = config.read(path)
    except config.ConfigError:
        return
    token = admintoken.issue(StaticTokens(server_pki.dir / "tokens.json"), path)
    for user in data.get("users") or []:
        fresh = {**user_entry(server_pki.ensure("admin")), "token": token}
        user["user"] = {**(user.get("user") or {}), **fresh}
    config.write(path, data)
    click.echo(
        f"✓ {path} has the new admin certificate and token (copy it where your contexts are)"
    )


@click.command("token")
@click.argument("service_account", required=False)
@click.option(
    "--duration", type=Duration(minimum=1), default="1h", show_default=True,
    help="Lifetime: 10m, 1h, 24h (30d also reads).",
)  # fmt: skip
@click.option("--join", is_flag=True, help="A join token for `shoal agent --token` instead.")
@click.option(
    "--ttl", type=Duration(), default="24h", show_default=True,
    help="With --join: its lifetime; 0 never expires.",
)  # fmt: skip
@click.pass_obj
def create_token_command(
    ctx: CtlContext, service_account: str | None, duration: float, join: bool, ttl: float
) -> None:
    """Mint a token for a service account, or with --join a join token (prints it).

    \b
    Examples:
      shoal create token builder -n ci --duration 24h
      shoal create token --join --ttl 2h
    """
    from shoal.api.v1 import certificates_pb2

    if join:
        from shoal.ctl.tokens import create_join_token

        if service_account:
            raise click.UsageError("a join token is for no service account: drop the name")
        create_join_token(ctx, ttl, "")
        return
    if not service_account:
        raise click.UsageError("name the service account (or give --join for a join token)")

    namespace = ctx.client_config().namespace
    request = certificates_pb2.CreateTokenRequest(
        namespace=namespace, name=service_account, expiration_seconds=int(duration)
    )
    answer = asyncio.run(_tokens_call(ctx, "CreateToken", request))
    click.echo(answer.token)


@click.command("revoke-token")
@click.argument("token_or_id")
@click.pass_obj
def revoke_token_command(ctx: CtlContext, token_or_id: str) -> None:
    """Refuse a token from now on (the token, or its id).

    A service-account token, admin.conf's bearer token or a join token.
    """
    from shoal.api.v1 import certificates_pb2

    request = certificates_pb2.RevokeTokenRequest(token=token_or_id)
    answer = asyncio.run(_tokens_call(ctx, "RevokeToken", request))
    click.echo(f"token {answer.id} revoked")


async def _tokens_call(ctx: CtlContext, method: str, request: Any) -> Any:
    import grpc
    from shoal import errors
    from shoal.api.v1 import certificates_pb2_grpc

    client = ctx.client()
    try:
        stub = certificates_pb2_grpc.TokensStub(client.channel)
        return await getattr(stub, method)(request, timeout=30)
    except grpc.aio.AioRpcError as err:
        raise errors.from_status(err.code(), err.details() or "", ()) from None
    finally:
        await client.close()
