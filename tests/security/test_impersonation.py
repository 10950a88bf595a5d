"""Impersonation as Kubernetes does it (issue 13): ``kubectl --as nobody get
secret db`` used to run with the caller's own rights through the gateway.
Now Impersonate-User / -Group / -Uid / -Extra-<key> (HTTP) and the same
names as gRPC metadata need the ``impersonate`` verb on users, groups,
serviceaccounts, uids and userextras/<key>; the request then runs as the
impersonated user, else 403 / PERMISSION_DENIED and nothing runs."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
import yaml
from shoal import errors, pki
from shoal.apiserver.audit import MemoryAudit
from shoal.client import Client, call_metadata
from shoal.manifest import from_dict

from tests.ctl.conftest import invoke
from tests.gateway.conftest import needs_kubectl, run_kubectl
from tests.integration.helpers import eventually
from tests.security.authz_helpers import RBAC, binding, refused, review, until_allowed
from tests.security.conftest import SecureGateway, SecureServer
from tests.security.test_authz_can_i import user_config

__all__ = ["needs_kubectl"]  # the fixture, for test_kubectl_as

SECRET = "/api/v1/namespaces/default/secrets/db"


@dataclass
class Setup:
    server: SecureServer
    gateway: SecureGateway
    alice: Client  # edit in default: reads secrets; may impersonate nobody
    carol: Client  # may impersonate the user dave, the group readers, sa builder


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> Any:
    return from_dict(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": rules,
        }
    )


@pytest_asyncio.fixture
async def setup(secure_gateway: SecureGateway) -> AsyncIterator[Setup]:
    server = secure_gateway.server
    admin = server.admin
    secret = from_dict(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "default"},
            "stringData": {"password": "hunter2"},
        }
    )
    await admin.create(secret)
    await admin.create(binding("alice-edit", "edit", user="alice", namespace="default"))
    await admin.create(binding("dave-view", "view", user="dave", namespace="default"))
    await admin.create(binding("readers-edit", "edit", group="readers", namespace="default"))
    await admin.create(
        _cluster_role(
            "impersonate-some",
            [
                {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"],
                 "resourceNames": ["dave"]},
                {"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"],
                 "resourceNames": ["readers"]},
                {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"],
                 "resourceNames": ["builder"]},
                {"apiGroups": ["authentication.k8s.io"], "resources": ["uids"],
                 "verbs": ["impersonate"], "resourceNames": ["u-1"]},
                {"apiGroups": ["authentication.k8s.io"], "resources": ["userextras/scopes"],
                 "verbs": ["impersonate"], "resourceNames": ["view"]},
            ],
        )
    )  # fmt: skip
    await admin.create(binding("carol-impersonates", "impersonate-some", user="carol"))
    alice, carol = server.user_client("alice"), server.user_client("carol")
    await until_allowed(alice, "get", "secrets", "default")
    await eventually(
        lambda: review(carol, "impersonate", "uids", name="u-1", group="authentication.k8s.io")
    )
    try:
        yield Setup(server, secure_gateway, alice, carol)
    finally:
        await alice.close()
        await carol.close()


async def _secret_unchanged(server: SecureServer) -> None:
    secret = await server.admin.get("Secret", "db", "default")
    assert secret.data["password"] == b"hunter2"


def _as(*pairs: tuple[str, str]) -> Any:
    return call_metadata.set(pairs)


# -- refused: the caller may not impersonate ---------------------------------


async def test_rest_impersonation_without_the_right_is_forbidden(setup: Setup) -> None:
    answer = await setup.gateway.call(
        "GET", SECRET, user="alice", groups=(), headers={"Impersonate-User": "nobody"}
    )
    assert (answer.code, answer.body["reason"]) == (403, "Forbidden"), answer.body
    assert answer.body["message"] == (
        'users "nobody" is forbidden: User "alice" cannot impersonate resource "users" in '
        'API group "" at the cluster scope'
    )
    deleted = await setup.gateway.call(
        "DELETE", SECRET, user="alice", groups=(), headers={"Impersonate-User": "nobody"}
    )
    assert deleted.code == 403
    await _secret_unchanged(setup.server)


async def test_grpc_impersonation_without_the_right_is_forbidden(setup: Setup) -> None:
    token = _as(("impersonate-user", "nobody"))
    try:
        err = await refused(setup.alice.get("Secret", "db", "default"))
        assert err.message.startswith(
            'users "nobody" is forbidden: User "alice" cannot impersonate'
        )
        await refused(setup.alice.delete("Secret", "db", "default"))
    finally:
        call_metadata.reset(token)
    await _secret_unchanged(setup.server)


async def test_the_request_runs_with_the_impersonated_users_rights(setup: Setup) -> None:
    """An admin impersonating nobody has nobody's rights: none."""
    answer = await setup.gateway.call("GET", SECRET, headers={"Impersonate-User": "nobody"})
    assert (answer.code, answer.body["reason"]) == (403, "Forbidden"), answer.body
    assert 'User "nobody" cannot get resource "secrets"' in answer.body["message"]
    token = _as(("impersonate-user", "nobody"))
    try:
        err = await refused(setup.server.admin.delete("Secret", "db", "default"))
        assert 'User "nobody" cannot delete resource "secrets"' in err.message
    finally:
        call_metadata.reset(token)
    await _secret_unchanged(setup.server)


# -- allowed, with resourceNames ------------------------------------------------


async def test_allowed_user_runs_as_that_user_through_both_paths(setup: Setup) -> None:
    carol_as_dave = {"Impersonate-User": "dave"}
    listed = await setup.gateway.call(
        "GET", "/api/v1/namespaces/default/configmaps", user="carol", groups=(),
        headers=carol_as_dave,
    )  # fmt: skip
    assert listed.code == 200, listed.body  # dave may view; carol may not
    answer = await setup.gateway.call("GET", SECRET, user="carol", groups=(), headers=carol_as_dave)
    assert answer.code == 403
    assert 'User "dave" cannot get resource "secrets"' in answer.body["message"]
    other = await setup.gateway.call(
        "GET", SECRET, user="carol", groups=(), headers={"Impersonate-User": "erin"}
    )
    assert other.code == 403
    assert 'users "erin" is forbidden: User "carol" cannot impersonate' in other.body["message"]
    token = _as(("impersonate-user", "dave"))
    try:
        await setup.carol.list("ConfigMap", "default")
        err = await refused(setup.carol.get("Secret", "db", "default"))
        assert 'User "dave" cannot get' in err.message
    finally:
        call_metadata.reset(token)


async def test_groups_need_their_own_right(setup: Setup) -> None:
    readers = {"Impersonate-User": "dave", "Impersonate-Group": "readers"}
    answer = await setup.gateway.call("GET", SECRET, user="carol", groups=(), headers=readers)
    assert answer.code == 200, answer.body  # the group readers may edit in default
    masters = [("Impersonate-User", "dave"), ("Impersonate-Group", "system:masters")]
    answer = await setup.gateway.call("GET", SECRET, user="carol", groups=(), headers=masters)
    assert answer.code == 403
    assert answer.body["message"].startswith(
        'groups "system:masters" is forbidden: User "carol" cannot impersonate resource "groups"'
    )
    token = _as(("impersonate-user", "dave"), ("impersonate-group", "system:masters"))
    try:
        await refused(setup.carol.delete("Secret", "db", "default"))
    finally:
        call_metadata.reset(token)
    await _secret_unchanged(setup.server)


async def test_service_accounts_uids_and_extras(setup: Setup) -> None:
    sa = "system:serviceaccount:default:builder"
    answer = await setup.gateway.call(
        "GET", SECRET, user="carol", groups=(), headers={"Impersonate-User": sa}
    )
    assert answer.code == 403  # allowed to impersonate; the account itself may not read
    assert f'User "{sa}" cannot get resource "secrets"' in answer.body["message"]
    other = await setup.gateway.call(
        "GET", SECRET, user="carol", groups=(),
        headers={"Impersonate-User": "system:serviceaccount:kube-system:builder2"},
    )  # fmt: skip
    assert other.body["message"].startswith(
        'serviceaccounts "builder2" is forbidden: User "carol" cannot impersonate resource '
        '"serviceaccounts" in API group "" in the namespace "kube-system"'
    )
    extras = {
        "Impersonate-User": "dave",
        "Impersonate-Uid": "u-1",
        "Impersonate-Extra-Scopes": "view",
    }
    listed = await setup.gateway.call(
        "GET", "/api/v1/namespaces/default/configmaps", user="carol", groups=(), headers=extras
    )
    assert listed.code == 200, listed.body
    for header, value, resource in (
        ("Impersonate-Uid", "u-2", '"uids"'),
        ("Impersonate-Extra-Scopes", "admin", '"userextras/scopes"'),
    ):
        answer = await setup.gateway.call(
            "GET", SECRET, user="carol", groups=(),
            headers={"Impersonate-User": "dave", header: value},
        )  # fmt: skip
        assert answer.code == 403, answer.body
        assert f"cannot impersonate resource {resource} in API group" in answer.body["message"]
        assert '"authentication.k8s.io"' in answer.body["message"]


async def test_groups_without_a_user_are_a_bad_request(setup: Setup) -> None:
    answer = await setup.gateway.call("GET", SECRET, headers={"Impersonate-Group": "readers"})
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest"), answer.body
    token = _as(("impersonate-group", "readers"))
    try:
        with pytest.raises(errors.APIError) as err:
            await setup.server.admin.get("Secret", "db", "default")
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        call_metadata.reset(token)


async def test_audit_records_the_impersonated_user_and_who_asked(setup: Setup) -> None:
    audit = MemoryAudit()
    setup.server.server.authorization.set_audit(audit)
    await setup.gateway.call(
        "GET", "/api/v1/namespaces/default/configmaps", user="carol", groups=(),
        headers={"Impersonate-User": "dave"},
    )  # fmt: skip
    await setup.gateway.call(
        "GET", SECRET, user="alice", groups=(), headers={"Impersonate-User": "nobody"}
    )
    listed = [e for e in audit.events if e.get("resource") == "configmaps"]
    assert listed and listed[0]["user"] == "dave"
    assert listed[0]["impersonatedBy"] == "carol"
    assert "system:authenticated" in listed[0]["groups"]
    denied = [e for e in audit.events if e.get("resource") == "users"]
    assert denied and denied[0]["user"] == "alice"
    assert (denied[0]["verb"], denied[0]["code"]) == ("impersonate", "PERMISSION_DENIED")


# -- real kubectl --as -------------------------------------------------------------


def _kubeconfig(server: SecureServer, url: str, user: str, path: Path) -> Path:
    key = pki.new_key()
    cert = server.security.pki.ca.issue(
        user, (), usage=pki.Usage(client=True), public_key=key.public_key()
    )
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    ca = b64(server.security.pki.ca_pem)
    credentials = {
        "client-certificate-data": b64(pki.cert_pem(cert)),
        "client-key-data": b64(pki.key_pem(key)),
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": url, "certificate-authority-data": ca}}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": user}}],
        "current-context": "c",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.usefixtures("needs_kubectl")
async def test_kubectl_as(setup: Setup, tmp_path: Path) -> None:
    kubeconfig = _kubeconfig(setup.server, setup.gateway.url, "alice", tmp_path / "alice.conf")
    ask = ("--kubeconfig", str(kubeconfig), "get", "secret", "db", "-o", "name")
    own = await run_kubectl(setup.gateway.url, tmp_path, *ask)
    assert (own.code, own.out.strip()) == (0, "secret/db"), own.err
    run = await run_kubectl(setup.gateway.url, tmp_path, "--as", "nobody", *ask)
    assert run.code != 0
    assert (
        'Error from server (Forbidden): users "nobody" is forbidden: User "alice" cannot '
        'impersonate resource "users"' in run.err
    )
    carol = _kubeconfig(setup.server, setup.gateway.url, "carol", tmp_path / "carol.conf")
    as_dave = await run_kubectl(
        setup.gateway.url, tmp_path, "--kubeconfig", str(carol), "--as", "dave",
        "get", "secret", "db",
    )  # fmt: skip
    assert as_dave.code != 0
    assert 'User "dave" cannot get resource "secrets"' in as_dave.err


async def test_shoal_as(setup: Setup, tmp_path: Path) -> None:
    """``shoal --as`` sends the same metadata over gRPC."""
    alice = user_config(setup.server, tmp_path / "alice.yaml", "alice")
    own = await asyncio.to_thread(invoke, ["--config", str(alice), "get", "secret", "db"])
    assert own.code == 0, own.err
    run = await asyncio.to_thread(
        invoke, ["--config", str(alice), "get", "secret", "db", "--as", "nobody"]
    )
    assert run.code != 0
    assert (
        'Error from server (Forbidden): users "nobody" is forbidden: User "alice" cannot '
        'impersonate resource "users"' in run.err
    )
    carol = user_config(setup.server, tmp_path / "carol.yaml", "carol")
    args = ["--config", str(carol), "--as", "dave", "--as-group", "readers", "get", "secret", "db"]
    as_reader = await asyncio.to_thread(invoke, args)
    assert as_reader.code == 0, as_reader.err
    as_dave = await asyncio.to_thread(invoke, [*args[:4], "get", "secret", "db"])
    assert 'User "dave" cannot get resource "secrets"' in as_dave.err
