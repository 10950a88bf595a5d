"""A kubeconfig for real kubectl from a shoal client config.

shoal's config has the shape of a kubeconfig, but its ``server`` is a gRPC
address. A cluster served by ``shoal server --http-listen`` also records the
gateway's URL as ``http-server``; without it the kubeconfig points at
``shoal proxy``'s default, http://127.0.0.1:8001. For an HTTPS gateway the
kubeconfig carries the cluster's CA and the user's own credentials (the
client certificate and key, else the token: admin.conf has both, and the
certificate keeps working when its token is revoked), so kubectl verifies
the server and the gateway knows who is calling.
"""

from __future__ import annotations

import base64
import pathlib
from typing import Any

from shoal import config

PROXY_URL = "http://127.0.0.1:8001"
HTTP_SERVER_KEY = "http-server"


def record_http_server(path: pathlib.Path, cluster: str, url: str) -> None:
    """Remember the gateway URL of ``cluster`` in the config file at ``path``."""
    data = config.read(path)
    for entry in data.get("clusters") or []:
        if entry.get("name") == cluster:
            entry.setdefault("cluster", {})[HTTP_SERVER_KEY] = url
    config.write(path, data)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _tls(resolved: config.ClientConfig) -> dict[str, Any]:
    if not resolved.ca_data:
        return {}
    return {"certificate-authority-data": _b64(resolved.ca_data), "insecure-skip-tls-verify": False}


def kubeconfig(data: dict[str, Any], context: str = "", server: str = "") -> dict[str, Any]:
    """The kubeconfig for one context of ``data`` (the current one by default),
    pointing at ``server``, else the cluster's gateway URL, else the proxy."""
    resolved = config.resolve(data, context)
    ctx = next(c for c in data.get("contexts") or [] if c.get("name") == resolved.context)
    body = ctx.get("context") or {}
    cluster = next(
        (c.get("cluster") or {} for c in data.get("clusters") or []
         if c.get("name") == body.get("cluster")),
        {},
    )  # fmt: skip
    url = server or cluster.get(HTTP_SERVER_KEY) or PROXY_URL
    user: dict[str, Any] = {"token": resolved.token} if resolved.token else {}
    cluster_entry: dict[str, Any] = {"server": url}
    if url.startswith("https://"):  # the server's gateway: TLS and the user's own credentials
        cluster_entry.update(_tls(resolved))
        if resolved.cert_data:  # the certificate first, as shoal's client
            user = {
                "client-certificate-data": _b64(resolved.cert_data),
                "client-key-data": _b64(resolved.key_data),
            }
    name = resolved.context
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": name,
        "clusters": [{"name": name, "cluster": cluster_entry}],
        "users": [{"name": name, "user": user}],
        "contexts": [
            {
                "name": name,
                "context": {"cluster": name, "user": name, "namespace": resolved.namespace},
            }
        ],
    }
