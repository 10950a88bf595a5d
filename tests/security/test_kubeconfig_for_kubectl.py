"""``shoal config view --kubeconfig`` makes a kubeconfig real kubectl can use
against the HTTPS gateway: the caller's own key in full, not redacted (issue 12)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from pathlib import Path

import yaml
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from shoal import config
from shoal.apiserver.security import user_entry
from shoal.plugins.gateway.kubeconfig import record_http_server

from tests.ctl.conftest import invoke
from tests.integration.helpers import pod
from tests.requirements import require_binary
from tests.security.conftest import SecureServer

KUBECTL = shutil.which("kubectl")


def _shoal_config(server: SecureServer, gateway_url: str, path: Path) -> str:
    """The client config `shoal up` writes, with the gateway's URL recorded."""
    data = config.set_context(
        config.empty_config(),
        "shoal",
        server.address,
        user=user_entry(server.security.pki.ensure("admin")),
        cluster=server.security.cluster_entry(),
    )
    config.write(path, data)
    record_http_server(path, "shoal", gateway_url)
    return str(path)


async def _kubectl(home: Path, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(home / "none")}
    proc = await asyncio.create_subprocess_exec(
        str(KUBECTL), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_kubeconfig_carries_the_real_key(
    secure_server: SecureServer, gateway_url: str, tmp_path: Path
) -> None:
    path = _shoal_config(secure_server, gateway_url, tmp_path / "config")
    made = invoke(["--config", path, "config", "view", "--kubeconfig"])
    assert made.code == 0, made.err
    assert "REDACTED" not in made.out and "OMITTED" not in made.out
    user = yaml.safe_load(made.out)["users"][0]["user"]
    key = load_pem_private_key(base64.b64decode(user["client-key-data"]), password=None)
    assert key.key_size >= 256
    require_binary("kubectl")
    (tmp_path / "shoal.kubeconfig").write_text(made.out)
    await secure_server.admin.create(pod("web"))
    code, out, err = await _kubectl(
        tmp_path, "--kubeconfig", str(tmp_path / "shoal.kubeconfig"), "get", "pods", "-o", "name"
    )
    assert (code, out) == (0, "pod/web\n"), err


def test_plain_view_redacts_as_kubectl(secure_server: SecureServer, tmp_path: Path) -> None:
    path = _shoal_config(secure_server, "https://127.0.0.1:1", tmp_path / "config")
    plain = yaml.safe_load(invoke(["--config", path, "config", "view"]).out)
    user = plain["users"][0]["user"]
    assert user["client-key-data"] == "DATA+OMITTED"
    assert user["client-certificate-data"] == "DATA+OMITTED"
    raw = yaml.safe_load(invoke(["--config", path, "config", "view", "--raw"]).out)
    key = base64.b64decode(raw["users"][0]["user"]["client-key-data"])
    assert load_pem_private_key(key, password=None)
