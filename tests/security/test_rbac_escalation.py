"""RBAC's escalation check (issue 13): a namespace admin could bind
cluster-admin to herself and create a Role granting ``*/*/*``. As in
Kubernetes, a Role or ClusterRole may only hold rules its author holds,
and a binding may only grant a role whose rules its author holds, unless
the author may ``escalate`` (roles) or ``bind`` (that role); system:masters
always may. Through gRPC and the REST gateway, refusals change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import pytest_asyncio
from shoal import errors
from shoal.client import Client, call_metadata
from shoal.manifest import from_dict, to_dict

from tests.integration.helpers import eventually
from tests.security.authz_helpers import RBAC, binding, refused, review, role, until_allowed
from tests.security.conftest import SecureGateway, SecureServer

NS = "team"
ROLES = f"/apis/{RBAC}/v1/namespaces/{NS}/roles"
BINDINGS = f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings"
EVERYTHING = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
SUBSET = [
    {"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list"]},
    {
        "apiGroups": ["apps"],
        "resources": ["deployments"],
        "verbs": ["get"],
        "resourceNames": ["web"],
    },
]
GRANT_PREFIX = 'user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC '
GRANT_PREFIX += "permissions not currently held: "
STAR = '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}'


@dataclass
class Setup:
    server: SecureServer
    gateway: SecureGateway
    alice: Client  # admin of the namespace "team" (a RoleBinding of ClusterRole admin)


@pytest_asyncio.fixture
async def setup(secure_gateway: SecureGateway) -> AsyncIterator[Setup]:
    server = secure_gateway.server
    namespace = from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    await server.admin.create(namespace)
    await server.admin.create(binding("alice-admin", "admin", user="alice", namespace=NS))
    alice = server.user_client("alice")
    await until_allowed(alice, "create", "rolebindings", NS, group=RBAC)
    try:
        yield Setup(server, secure_gateway, alice)
    finally:
        await alice.close()


def _self_binding(name: str, role_name: str, kind: str = "ClusterRole") -> Any:
    return binding(name, role_name, user="alice", namespace=NS, role_kind=kind)


async def _absent(server: SecureServer, kind: str, name: str) -> None:
    with pytest.raises(errors.NotFoundError):
        await server.admin.get(kind, name, NS)


async def _grant(server: SecureServer, alice: Client, rules: list[dict[str, Any]]) -> None:
    """Give alice ``rules`` in the namespace (by the cluster admin), and wait
    until the server's policy cache has them."""
    await server.admin.create(role("extra", NS, rules))
    await server.admin.create(_self_binding("alice-extra", "extra", kind="Role"))
    rule = rules[0]
    await eventually(
        lambda: review(
            alice, rule["verbs"][0], rule["resources"][0], NS,
            name=(rule.get("resourceNames") or [""])[0], group=RBAC,
        ),
        timeout=10,
    )  # fmt: skip


# -- refused -----------------------------------------------------------------------


async def test_grpc_namespace_admin_cannot_bind_cluster_admin(setup: Setup) -> None:
    err = await refused(setup.alice.create(_self_binding("take-over", "cluster-admin")))
    assert err.message.startswith(
        f'rolebindings.{RBAC} "take-over" is forbidden: {GRANT_PREFIX}'
    ), err.message
    assert STAR in err.message
    await _absent(setup.server, "RoleBinding", "take-over")
    assert not await review(setup.alice, "list", "secrets", "default")


async def test_grpc_namespace_admin_cannot_create_a_role_granting_everything(
    setup: Setup,
) -> None:
    err = await refused(setup.alice.create(role("god", NS, EVERYTHING)))
    assert err.message == f'roles.{RBAC} "god" is forbidden: {GRANT_PREFIX}{STAR}'
    await _absent(setup.server, "Role", "god")


async def test_grpc_update_and_patch_cannot_escalate_a_role(setup: Setup) -> None:
    created = await setup.alice.create(role("reader", NS, SUBSET))
    escalated = type(created)()
    escalated.CopyFrom(created)
    del escalated.rules[:]
    escalated.rules.add(verbs=["*"], api_groups=["*"], resources=["*"])
    await refused(setup.alice.update(escalated))
    await refused(setup.alice.patch("Role", "reader", {"rules": EVERYTHING}, NS))
    now = await setup.server.admin.get("Role", "reader", NS)
    assert now.metadata.resource_version == created.metadata.resource_version
    assert to_dict(now)["rules"] == to_dict(created)["rules"]


async def test_grpc_binding_to_a_missing_role_is_not_found(setup: Setup) -> None:
    with pytest.raises(errors.NotFoundError) as err:
        await setup.alice.create(_self_binding("ghost", "nothing-here", kind="Role"))
    assert err.value.message == f'roles.{RBAC} "nothing-here" not found'


async def test_grpc_aggregation_rule_takes_cluster_admin(setup: Setup) -> None:
    """Even a user who may create ClusterRoles and holds their rules may not
    set an aggregationRule: it could gather anything."""
    await setup.server.admin.create(
        from_dict(
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "alice-roles"},
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"},
                "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "alice"}],
            }
        )
    )
    await setup.server.admin.create(
        from_dict(
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "make-roles"},
                "rules": [
                    {"apiGroups": [RBAC], "resources": ["clusterroles"], "verbs": ["create"]}
                ],
            }
        )
    )
    await setup.server.admin.create(binding("alice-make-roles", "make-roles", user="alice"))
    await until_allowed(setup.alice, "create", "clusterroles", group=RBAC)
    aggregated = from_dict(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "gatherer"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]},
        }
    )
    err = await refused(setup.alice.create(aggregated))
    assert err.message == (
        f'clusterroles.{RBAC} "gatherer" is forbidden: must have cluster-admin privileges to '
        "use the aggregationRule"
    )
    with pytest.raises(errors.NotFoundError):
        await setup.server.admin.get("ClusterRole", "gatherer")


async def test_rest_namespace_admin_cannot_escalate(setup: Setup) -> None:
    gw = setup.gateway
    take_over = to_dict(_self_binding("take-over", "cluster-admin"))
    answer = await gw.call("POST", BINDINGS, user="alice", groups=(), body=take_over)
    assert (answer.code, answer.body["reason"]) == (403, "Forbidden"), answer.body
    assert answer.body["message"].startswith(f'rolebindings.{RBAC} "take-over" is forbidden: ')
    god = to_dict(role("god", NS, EVERYTHING))
    answer = await gw.call("POST", ROLES, user="alice", groups=(), body=god)
    assert (answer.code, answer.body["reason"]) == (403, "Forbidden"), answer.body
    assert answer.body["message"] == f'roles.{RBAC} "god" is forbidden: {GRANT_PREFIX}{STAR}'
    await _absent(setup.server, "RoleBinding", "take-over")
    await _absent(setup.server, "Role", "god")
    created = await gw.call(
        "POST", ROLES, user="alice", groups=(), body=to_dict(role("reader", NS, SUBSET))
    )
    assert created.code == 201, created.body
    for content_type, patch in (
        ("application/merge-patch+json", {"rules": EVERYTHING}),
        ("application/strategic-merge-patch+json", {"rules": EVERYTHING}),
        ("application/json-patch+json", [{"op": "replace", "path": "/rules", "value": EVERYTHING}]),
    ):
        answer = await gw.call(
            "PATCH", f"{ROLES}/reader", user="alice", groups=(), body=patch,
            content_type=content_type,
        )  # fmt: skip
        assert (answer.code, answer.body["reason"]) == (403, "Forbidden"), answer.body
    body = created.body
    body["rules"] = EVERYTHING
    answer = await gw.call("PUT", f"{ROLES}/reader", user="alice", groups=(), body=body)
    assert answer.code == 403, answer.body
    now = await setup.server.admin.get("Role", "reader", NS)
    assert now.metadata.resource_version == created.body["metadata"]["resourceVersion"]


# -- allowed --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["grpc", "rest"])
async def test_granting_what_one_holds_is_allowed(setup: Setup, path: str) -> None:
    objects = [
        role("reader", NS, SUBSET),
        binding("bob-reader", "reader", user="bob", namespace=NS, role_kind="Role"),
        binding("bob-view", "view", user="bob", namespace=NS),
        binding("bob-edit", "edit", user="bob", namespace=NS),
    ]
    for obj in objects:
        if path == "grpc":
            await setup.alice.create(obj)
        else:
            url = ROLES if obj.kind == "Role" else BINDINGS
            answer = await setup.gateway.call(
                "POST", url, user="alice", groups=(), body=to_dict(obj)
            )
            assert answer.code == 201, answer.body
        await setup.server.admin.get(obj.kind, obj.metadata.name, NS)


async def test_escalate_lets_a_role_hold_more(setup: Setup) -> None:
    await _grant(
        setup.server, setup.alice,
        [{"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["escalate"]}],
    )  # fmt: skip
    await setup.alice.create(role("god", NS, EVERYTHING))
    answer = await setup.gateway.call(
        "POST", ROLES, user="alice", groups=(), body=to_dict(role("god2", NS, EVERYTHING))
    )
    assert answer.code == 201, answer.body
    # escalate is about roles only: binding cluster-admin is still refused
    await refused(setup.alice.create(_self_binding("take-over", "cluster-admin")))


async def test_bind_lets_a_binding_grant_that_role_only(setup: Setup) -> None:
    await _grant(
        setup.server, setup.alice,
        [{"apiGroups": [RBAC], "resources": ["clusterroles"], "verbs": ["bind"],
          "resourceNames": ["cluster-admin"]}],
    )  # fmt: skip
    await setup.alice.create(binding("bob-admin", "cluster-admin", user="bob", namespace=NS))
    body = to_dict(binding("carol-admin", "cluster-admin", user="carol", namespace=NS))
    answer = await setup.gateway.call("POST", BINDINGS, user="alice", groups=(), body=body)
    assert answer.code == 201, answer.body
    # bind names cluster-admin only; a Role of everything still may not be made
    err = await refused(setup.alice.create(role("god", NS, EVERYTHING)))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED


async def test_masters_may_always(setup: Setup) -> None:
    await setup.server.admin.create(role("god", NS, EVERYTHING))
    await setup.server.admin.create(_self_binding("alice-god", "god", kind="Role"))


async def test_an_impersonated_request_grants_only_the_impersonated_users_rights(
    setup: Setup,
) -> None:
    """The escalation check sees whom the request runs as: the cluster admin
    acting --as alice cannot make what alice cannot."""
    token = call_metadata.set((("impersonate-user", "alice"),))
    try:
        err = await refused(setup.server.admin.create(role("god", NS, EVERYTHING)))
    finally:
        call_metadata.reset(token)
    assert err.message == f'roles.{RBAC} "god" is forbidden: {GRANT_PREFIX}{STAR}'
    answer = await setup.gateway.call(
        "POST", ROLES, body=to_dict(role("god", NS, EVERYTHING)),
        headers={"Impersonate-User": "alice"},
    )  # fmt: skip
    assert (answer.code, answer.body["reason"]) == (403, "Forbidden"), answer.body
    await _absent(setup.server, "Role", "god")
