"""``shoal get --raw PATH``: a path of the cluster's REST gateway, printed
as it comes (``shoal get --raw /metrics``, ``/healthz``, ``/api/v1/pods``),
as ``kubectl get --raw``.

The path is asked of the gateway the server records in the config
(``shoal server --http-listen``), over HTTPS with the context's CA and
credentials, so RBAC decides as for kubectl: ``/metrics`` needs ``get`` on
that non-resource URL."""

from __future__ import annotations

import asyncio
import json
import ssl
import tempfile
from pathlib import Path
from typing import Any

import click
from shoal.ctl.context import CtlContext

HTTP_SERVER_KEY = "http-server"  # as plugins/gateway/kubeconfig.py records it


def gateway_url(ctx: CtlContext) -> str:
    """The context's gateway URL, or a UsageError saying how to get one."""
    from shoal.config import config_path, read

    data = read(config_path(ctx.config_path))
    name = ctx.context_name or data.get("current-context", "")
    contexts = data.get("contexts") or []
    context: dict[str, Any] = next((c for c in contexts if c.get("name") == name), {})
    cluster_name = (context.get("context") or {}).get("cluster")
    for entry in data.get("clusters") or []:
        if entry.get("name") == cluster_name:
            url = (entry.get("cluster") or {}).get(HTTP_SERVER_KEY)
            if url:
                return str(url)
    raise click.UsageError(
        "this cluster serves no REST gateway: start the server with --http-listen"
    )


def _ssl(cfg: Any) -> ssl.SSLContext | None:
    if not cfg.ca_data:
        return None
    context = ssl.create_default_context(cadata=cfg.ca_data.decode())
    if cfg.cert_data and not cfg.token:
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "c.pem", Path(tmp) / "k.pem"
            cert.write_bytes(cfg.cert_data)
            key.write_bytes(cfg.key_data)
            context.load_cert_chain(cert, key)
    return context


async def fetch(url: str, cfg: Any) -> tuple[int, bytes]:
    import aiohttp

    headers = {"Authorization": f"Bearer {cfg.token}"} if cfg.token else {}
    connector = aiohttp.TCPConnector(ssl=_ssl(cfg) or False)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get(url, headers=headers) as response,
    ):
        return response.status, await response.read()


def get_raw(ctx: CtlContext, path: str) -> None:
    """Print what the gateway answers for ``path``; an error as kubectl words it."""
    if not path.startswith("/"):
        raise click.UsageError(f'--raw must be an absolute path, like /metrics, not "{path}"')
    cfg = ctx.client_config()
    url = gateway_url(ctx).rstrip("/") + path
    try:
        status, body = asyncio.run(fetch(url, cfg))
    except OSError as err:
        raise click.ClickException(f"could not reach the REST gateway at {url}: {err}") from None
    if status >= 400:
        raise click.ClickException(_error(status, body))
    click.echo(body.decode(errors="replace"), nl=False)


def _error(status: int, body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return f"the server answered {status}"
    reason, message = doc.get("reason", ""), doc.get("message", "")
    return f"Error from server ({reason}): {message}" if reason else message
