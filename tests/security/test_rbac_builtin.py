"""The built-in roles as Kubernetes users know them: view cannot read
secrets, edit cannot touch RBAC, admin can within its namespace;
system:masters can never be locked out."""

from __future__ import annotations

import pytest
from shoal.manifest import from_dict

from tests.security.authz_helpers import binding, refused, review, role, until_allowed
from tests.security.conftest import SecureServer

READ_PODS = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]


def secret(name: str, namespace: str = "default") -> object:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {"k": "v"},
        }
    )


async def test_view_edit_admin(secure_server: SecureServer) -> None:
    admin = secure_server.admin
    await admin.create(secret("s"))
    await admin.create(binding("v", "view", user="viewer", namespace="default"))
    await admin.create(binding("e", "edit", user="editor", namespace="default"))
    await admin.create(binding("a", "admin", user="nsadmin", namespace="default"))
    viewer = secure_server.user_client("viewer")
    editor = secure_server.user_client("editor")
    nsadmin = secure_server.user_client("nsadmin")
    try:
        await until_allowed(
            nsadmin, "create", "roles", "default", group="rbac.authorization.k8s.io"
        )
        await until_allowed(viewer, "list", "pods", "default")
        await until_allowed(editor, "create", "pods", "default")
        await refused(viewer.get("secret", "s"))
        assert (await editor.get("secret", "s")).data["k"] == b"v"
        await refused(editor.create(role("r", "default", READ_PODS)))
        await nsadmin.create(role("r", "default", READ_PODS))  # admin manages its namespace's roles
        await refused(nsadmin.create(role("r", "shoal-system", READ_PODS)))
        await refused(nsadmin.delete("namespace", "default"))
        assert not await review(viewer, "create", "deployments", "default", group="apps")
        assert await review(editor, "create", "deployments", "default", group="apps")
        hpas = ("horizontalpodautoscalers", "default")
        assert await review(viewer, "list", *hpas, group="autoscaling")
        assert not await review(viewer, "create", *hpas, group="autoscaling")
        assert await review(editor, "create", *hpas, group="autoscaling")
        assert not await review(editor, "get", "pods", "shoal-system")  # bound in default only
    finally:
        for client in (viewer, editor, nsadmin):
            await client.close()


async def test_masters_cannot_be_locked_out(secure_server: SecureServer) -> None:
    admin = secure_server.admin
    await admin.delete("clusterrolebinding", "cluster-admin")
    await admin.delete("clusterrole", "cluster-admin")
    await admin.create(secret("still"))  # system:masters needs no binding
    assert await review(admin, "delete", "nodes")


async def test_built_in_roles_are_restored_on_start(secure_server: SecureServer) -> None:
    admin = secure_server.admin
    view = await admin.get("clusterrole", "view")
    assert view.aggregation_rule.cluster_role_selectors[0].match_labels == {
        "rbac.authorization.k8s.io/aggregate-to-view": "true"
    }
    await admin.delete("clusterrole", "system:aggregate-to-view")
    await secure_server.server.authorization.bootstrap()  # what a restart does first
    assert (await admin.get("clusterrole", "system:aggregate-to-view")).rules


async def test_a_bindings_role_ref_cannot_change(secure_server: SecureServer) -> None:
    from shoal import errors

    admin = secure_server.admin
    created = await admin.create(binding("b", "view", user="u", namespace="default"))
    created.role_ref.name = "admin"
    with pytest.raises(errors.InvalidError, match="roleRef: Invalid value: cannot change roleRef"):
        await admin.update(created)
    created.role_ref.name = "view"
    created.subjects[0].name = "someone-else"  # subjects may change
    assert (await admin.update(created)).subjects[0].name == "someone-else"
