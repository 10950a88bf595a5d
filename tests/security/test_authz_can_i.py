"""``shoal auth can-i`` against a secure server, as the admin and as a
user with a certificate of its own."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

from shoal import config, pki

from tests.ctl.conftest import Result, invoke
from tests.security.authz_helpers import binding, role, until_allowed
from tests.security.conftest import SecureServer


def user_config(server: SecureServer, path: Path, name: str, groups: tuple[str, ...] = ()) -> Path:
    key = pki.new_key()
    cert = server.security.pki.ca.issue(
        name, groups, usage=pki.Usage(client=True), public_key=key.public_key()
    )
    user = {
        "client-certificate-data": base64.b64encode(pki.cert_pem(cert)).decode(),
        "client-key-data": base64.b64encode(pki.key_pem(key)).decode(),
    }
    cluster = server.security.cluster_entry()
    data = config.set_context(
        config.empty_config(), "c", server.address, user=user, cluster=cluster
    )
    config.write(path, data)
    return path


async def shoal(cfg: Path, *args: str) -> Result:
    return await asyncio.to_thread(invoke, ["--config", str(cfg), "auth", "can-i", *args])


async def test_can_i_answers_for_me_and_for_others(
    secure_server: SecureServer, tmp_path: Path
) -> None:
    admin_cfg = user_config(secure_server, tmp_path / "admin", "root", ("system:masters",))
    carol_cfg = user_config(secure_server, tmp_path / "carol", "carol")
    rules = [
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["app"],
            "verbs": ["get"],
        },
    ]
    await secure_server.admin.create(role("reader", "default", rules))
    await secure_server.admin.create(
        binding("carol", "reader", user="carol", namespace="default", role_kind="Role")
    )
    carol = secure_server.user_client("carol")
    await until_allowed(carol, "list", "pods", "default")
    await carol.close()

    assert (await shoal(admin_cfg, "delete", "nodes")).out == "yes\n"
    yes = await shoal(carol_cfg, "get", "pods/log")
    assert (yes.code, yes.out) == (0, "yes\n")
    no = await shoal(carol_cfg, "delete", "pods")
    assert (no.code, no.out) == (1, "no\n")
    assert (await shoal(carol_cfg, "get", "pods", "-n", "shoal-system")).out == "no\n"
    assert (await shoal(carol_cfg, "get", "configmaps", "app")).out == "yes\n"
    assert (await shoal(carol_cfg, "get", "configmap/other")).out == "no\n"
    assert (await shoal(admin_cfg, "get", "pods", "--as", "carol")).out == "yes\n"
    assert (await shoal(admin_cfg, "create", "pods", "--as", "carol")).out == "no\n"
    denied = await shoal(carol_cfg, "get", "pods", "--as", "root")
    assert denied.code == 1
    assert 'User "carol" cannot impersonate resource "users"' in denied.err
    listed = await shoal(carol_cfg, "--list")
    assert listed.out.splitlines()[0].split() == [
        "Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"
    ]  # fmt: skip
    assert "pods/log" in listed.out and "[app]" in listed.out
    usage = await shoal(carol_cfg, "get")
    assert usage.code == 2 and "you must specify two arguments" in usage.err
