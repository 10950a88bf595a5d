"""``shoal get --raw /metrics`` through the secure gateway: the admin reads
the metrics; a user bound to view is refused, as in Kubernetes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shoal.plugins.gateway.kubeconfig import record_http_server

from tests.ctl.conftest import Result, invoke
from tests.security.authz_helpers import binding, until_allowed
from tests.security.conftest import SecureGateway
from tests.security.test_authz_can_i import user_config


async def raw(cfg: Path, path: str) -> Result:
    return await asyncio.to_thread(invoke, ["--config", str(cfg), "get", "--raw", path])


async def test_get_raw_metrics_needs_the_non_resource_right(
    secure_gateway: SecureGateway, tmp_path: Path
) -> None:
    server = secure_gateway.server
    admin = user_config(server, tmp_path / "admin", "root", ("system:masters",))
    jane = user_config(server, tmp_path / "jane", "jane")
    for cfg in (admin, jane):
        record_http_server(cfg, "c", secure_gateway.url)
    await server.admin.create(binding("jane-view", "view", user="jane"))
    client = server.user_client("jane")
    await until_allowed(client, "list", "pods", "default")
    await client.close()

    scraped = await raw(admin, "/metrics")
    assert scraped.code == 0, scraped.err
    assert "# TYPE apiserver_request_total counter" in scraped.out
    refused = await raw(jane, "/metrics")
    assert refused.code == 1
    assert "Error from server (Forbidden)" in refused.err, refused.err
    assert '"/metrics"' in refused.err
    healthy = await raw(jane, "/healthz")
    assert (healthy.code, healthy.out) == (0, "ok")
