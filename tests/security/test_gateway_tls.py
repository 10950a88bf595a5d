"""The HTTPS gateway: callers authenticated, and acted for on the API."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp
from shoal import auth, config, pki
from shoal.plugins.gateway.kubeconfig import kubeconfig

from tests.security.conftest import SecureServer


def _tls(server: SecureServer, tmp_path: Path, user: str = "") -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=server.security.pki.ca_pem.decode())
    if user:
        key = pki.new_key()
        cert = server.security.pki.ca.issue(
            user, (auth.ADMIN_GROUP,), usage=pki.Usage(client=True), public_key=key.public_key()
        )
        (tmp_path / "u.crt").write_bytes(pki.cert_pem(cert))
        (tmp_path / "u.key").write_bytes(pki.key_pem(key))
        context.load_cert_chain(tmp_path / "u.crt", tmp_path / "u.key")
    return context


async def _get(url: str, context: ssl.SSLContext, token: str = "") -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, ssl=context, headers=headers) as answer,
    ):
        text = await answer.text()
        return answer.status, json.loads(text) if text.startswith("{") else text


async def test_gateway_needs_credentials(
    secure_server: SecureServer, gateway_url: str, tmp_path: Path
) -> None:
    assert gateway_url.startswith("https://")
    pods = f"{gateway_url}/api/v1/namespaces/default/pods"
    code, body = await _get(pods, _tls(secure_server, tmp_path))
    assert (code, body["reason"]) == (401, "Unauthorized")
    code, _ = await _get(pods, _tls(secure_server, tmp_path), token="abc.def")
    assert code == 401
    code, body = await _get(pods, _tls(secure_server, tmp_path, user="jane"))
    assert (code, body["kind"]) == (200, "PodList")
    code, _ = await _get(f"{gateway_url}/healthz", _tls(secure_server, tmp_path))
    assert code == 200


async def test_gateway_acts_as_the_caller(
    secure_server: SecureServer, gateway_url: str, tmp_path: Path
) -> None:
    token = secure_server.security.service_accounts.issue("default", "reader", 600)
    pods = f"{gateway_url}/api/v1/namespaces/default/pods"
    code, body = await _get(pods, _tls(secure_server, tmp_path), token=token)
    # The service account is bound to nothing: refused as itself, not as the gateway.
    assert code == 403
    assert "system:serviceaccount:default:reader" in body["message"]


def test_kubeconfig_for_the_https_gateway_has_tls_and_credentials(
    secure_server: SecureServer,
) -> None:
    pair = secure_server.security.pki.ensure("admin")
    data = config.set_context(
        config.empty_config(),
        "shoal",
        secure_server.address,
        user={"client-certificate-data": "", "client-key-data": ""},
        cluster=secure_server.security.cluster_entry(),
    )
    from shoal.apiserver.security import user_entry

    data["users"][0]["user"] = user_entry(pair)
    out = kubeconfig(data, server="https://127.0.0.1:8443")
    cluster, user = out["clusters"][0]["cluster"], out["users"][0]["user"]
    assert cluster["server"] == "https://127.0.0.1:8443"
    assert cluster["certificate-authority-data"]
    assert cluster["insecure-skip-tls-verify"] is False
    assert set(user) == {"client-certificate-data", "client-key-data"}
