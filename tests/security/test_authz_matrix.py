"""Who may do what, end to end: real client certificates against a secure
server; every refusal is PERMISSION_DENIED in Kubernetes' words, changes
nothing, and is in the audit log."""

from __future__ import annotations

from shoal.apiserver.audit import MemoryAudit

from tests.integration.helpers import pod
from tests.security.authz_helpers import binding, refused, role, until_allowed
from tests.security.conftest import SecureServer


async def test_a_view_user_may_read_but_not_delete(secure_server: SecureServer) -> None:
    audit = MemoryAudit()
    secure_server.server.authorization.set_audit(audit)
    admin = secure_server.admin
    await admin.create(pod("web"))
    await admin.create(binding("alice-view", "view", user="alice"))
    alice = secure_server.user_client("alice")
    try:
        await until_allowed(alice, "get", "pods", "default")
        assert (await alice.get("pod", "web")).metadata.name == "web"
        err = await refused(alice.delete("pod", "web"))
        assert err.message == (
            'pods "web" is forbidden: User "alice" cannot delete resource "pods" in API group "" '
            'in the namespace "default"'
        )
        assert (await admin.get("pod", "web")).metadata.name == "web"  # nothing changed
        refusal = [e for e in audit.events if e["code"] == "PERMISSION_DENIED"]
        assert refusal == [
            {**refusal[0], "user": "alice", "verb": "delete", "resource": "pods", "name": "web"}
        ]
        assert "system:authenticated" in refusal[0]["groups"]
    finally:
        await alice.close()


async def test_a_role_in_one_namespace_does_not_reach_another(secure_server: SecureServer) -> None:
    admin = secure_server.admin
    for ns in ("team-a", "team-b"):
        await admin.create(from_namespace(ns))
        await admin.create(pod("web", namespace=ns))
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    await admin.create(role("reader", "team-a", rules))
    await admin.create(
        binding("bob-reads", "reader", user="bob", namespace="team-a", role_kind="Role")
    )
    bob = secure_server.user_client("bob")
    try:
        await until_allowed(bob, "list", "pods", "team-a")
        assert [p.metadata.name for p in (await bob.list("pods", namespace="team-a")).items] == [
            "web"
        ]
        err = await refused(bob.get("pod", "web", namespace="team-b"))
        assert 'in the namespace "team-b"' in err.message
        await refused(bob.list("pods", namespace=""))  # every namespace is not team-a
        await refused(bob.create(pod("other", namespace="team-a")))
    finally:
        await bob.close()


def from_namespace(name: str) -> object:
    from shoal.manifest import from_dict

    return from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
