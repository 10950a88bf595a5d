"""An update or patch never renames or moves an object (issue 13).

A patch of ``metadata.name`` used to be stored under the old key with the
new name inside, so Get and Delete by either name disagreed: a namespace
admin renamed her RoleBinding, a node its own Node. As Kubernetes does, a
name or namespace that differs from the request's is a 400 BadRequest
("the name of the object (x) does not match the name on the URL (y)") and
a changed uid a 422 Invalid (``metadata.uid: ... field is immutable``),
through gRPC and the REST gateway alike; the stored object is unchanged.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from shoal import errors
from shoal.manifest import from_dict

from tests.security.conftest import SecureGateway, SecureServer

RBAC = "rbac.authorization.k8s.io/v1"
# One namespaced kind of each family, the RoleBinding and the Node of the
# reports, and a cluster-scoped RBAC kind.
OBJECTS: dict[str, dict[str, Any]] = {
    "ConfigMap": {"apiVersion": "v1", "data": {"k": "v"}},
    "Secret": {"apiVersion": "v1", "stringData": {"k": "v"}},
    "RoleBinding": {
        "apiVersion": RBAC,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}],
    },
    "ClusterRole": {"apiVersion": RBAC, "rules": []},
    "Node": {"apiVersion": "v1"},
}
PATHS = {
    "ConfigMap": "/api/v1/namespaces/default/configmaps",
    "Secret": "/api/v1/namespaces/default/secrets",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "Node": "/api/v1/nodes",
}
NAMESPACED = ("ConfigMap", "Secret", "RoleBinding")
RENAME_MESSAGE = "the name of the object (renamed) does not match the name on the URL (orig)"


async def _create(server: SecureServer, kind: str) -> Any:
    body = {"kind": kind, "metadata": {"name": "orig"}, **OBJECTS[kind]}
    if kind in NAMESPACED:
        body["metadata"]["namespace"] = "default"
    return await server.admin.create(from_dict(body))


async def _unchanged(server: SecureServer, kind: str, before: Any) -> None:
    """The object is still stored as it was, and nothing answers to "renamed"."""
    namespace = "default" if kind in NAMESPACED else ""
    now = await server.admin.get(kind, "orig", namespace)
    assert now.metadata.name == "orig"
    assert now.metadata.namespace == before.metadata.namespace
    assert now.metadata.uid == before.metadata.uid
    assert now.metadata.resource_version == before.metadata.resource_version
    with pytest.raises(errors.NotFoundError):
        await server.admin.get(kind, "renamed", namespace)


def _namespace(kind: str) -> str:
    return "default" if kind in NAMESPACED else ""


@pytest.mark.parametrize("kind", list(OBJECTS))
async def test_grpc_patch_cannot_rename(secure_server: SecureServer, kind: str) -> None:
    before = await _create(secure_server, kind)
    for status in (False, True) if kind == "Node" else (False,):
        with pytest.raises(errors.BadRequestError) as err:
            await secure_server.admin.patch(
                kind, "orig", {"metadata": {"name": "renamed"}}, _namespace(kind), status=status
            )
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.message == RENAME_MESSAGE
    await _unchanged(secure_server, kind, before)


@pytest.mark.parametrize("kind", NAMESPACED)
async def test_grpc_patch_cannot_move_to_another_namespace(
    secure_server: SecureServer, kind: str
) -> None:
    before = await _create(secure_server, kind)
    with pytest.raises(errors.BadRequestError) as err:
        await secure_server.admin.patch(
            kind, "orig", {"metadata": {"namespace": "kube-system"}}, "default"
        )
    assert err.value.message == (
        "the namespace of the object (kube-system) does not match the namespace on the URL "
        "(default)"
    )
    await _unchanged(secure_server, kind, before)


@pytest.mark.parametrize("kind", list(OBJECTS))
async def test_grpc_patch_cannot_change_the_uid(secure_server: SecureServer, kind: str) -> None:
    before = await _create(secure_server, kind)
    uid = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(errors.InvalidError) as err:
        await secure_server.admin.patch(kind, "orig", {"metadata": {"uid": uid}}, _namespace(kind))
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.reason == "Invalid"
    assert err.value.causes == [("metadata.uid", f'Invalid value: "{uid}": field is immutable')]
    await _unchanged(secure_server, kind, before)


async def test_grpc_update_of_a_renamed_copy_touches_no_other_object(
    secure_server: SecureServer,
) -> None:
    """gRPC Update names its object by the body: a renamed copy of "orig" is
    an update of "renamed", which does not exist, and "orig" stays."""
    before = await _create(secure_server, "ConfigMap")
    copy = type(before)()
    copy.CopyFrom(before)
    copy.metadata.name = "renamed"
    with pytest.raises(errors.NotFoundError):
        await secure_server.admin.update(copy)
    await _unchanged(secure_server, "ConfigMap", before)


PATCHES = {
    "application/merge-patch+json": {"metadata": {"name": "renamed"}},
    "application/strategic-merge-patch+json": {"metadata": {"name": "renamed"}},
    "application/json-patch+json": [
        {"op": "replace", "path": "/metadata/name", "value": "renamed"}
    ],
}


@pytest.mark.parametrize("kind", list(OBJECTS))
@pytest.mark.parametrize("content_type", list(PATCHES))
async def test_rest_patch_cannot_rename(
    secure_gateway: SecureGateway, kind: str, content_type: str
) -> None:
    server = secure_gateway.server
    before = await _create(server, kind)
    answer = await secure_gateway.call(
        "PATCH", f"{PATHS[kind]}/orig", body=PATCHES[content_type], content_type=content_type
    )
    assert answer.code == 400, answer.body
    assert answer.body["reason"] == "BadRequest"
    assert answer.body["message"] == RENAME_MESSAGE
    await _unchanged(server, kind, before)


@pytest.mark.parametrize("kind", list(OBJECTS))
async def test_rest_put_of_another_name_is_refused(
    secure_gateway: SecureGateway, kind: str
) -> None:
    server = secure_gateway.server
    before = await _create(server, kind)
    body = (await secure_gateway.call("GET", f"{PATHS[kind]}/orig")).body
    body["metadata"]["name"] = "renamed"
    answer = await secure_gateway.call("PUT", f"{PATHS[kind]}/orig", body=body)
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest"), answer.body
    assert answer.body["message"] == RENAME_MESSAGE
    await _unchanged(server, kind, before)


@pytest.mark.parametrize(
    "content_type", ["application/merge-patch+json", "application/json-patch+json"]
)
async def test_rest_patch_cannot_change_the_uid(
    secure_gateway: SecureGateway, content_type: str
) -> None:
    server = secure_gateway.server
    before = await _create(server, "RoleBinding")
    uid = "00000000-0000-4000-8000-000000000000"
    patch: Any = {"metadata": {"uid": uid}}
    if content_type.startswith("application/json-patch"):
        patch = [{"op": "replace", "path": "/metadata/uid", "value": uid}]
    answer = await secure_gateway.call(
        "PATCH", f"{PATHS['RoleBinding']}/orig", body=patch, content_type=content_type
    )
    assert (answer.code, answer.body["reason"]) == (422, "Invalid"), answer.body
    assert answer.body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": f'Invalid value: "{uid}": field is immutable',
            "field": "metadata.uid",
        }
    ]
    await _unchanged(server, "RoleBinding", before)


async def test_rest_patch_cannot_move_to_another_namespace(
    secure_gateway: SecureGateway,
) -> None:
    server = secure_gateway.server
    before = await _create(server, "ConfigMap")
    answer = await secure_gateway.call(
        "PATCH",
        f"{PATHS['ConfigMap']}/orig",
        body={"metadata": {"namespace": "kube-system"}},
        content_type="application/merge-patch+json",
    )
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest"), answer.body
    await _unchanged(server, "ConfigMap", before)


async def test_creation_timestamp_is_kept_as_kubernetes_keeps_it(
    secure_server: SecureServer,
) -> None:
    """Kubernetes ignores a changed creationTimestamp on update (BeforeUpdate
    copies the stored one back): the patch succeeds, the stamp stays."""
    before = await _create(secure_server, "ConfigMap")
    patched = await secure_server.admin.patch(
        "ConfigMap",
        "orig",
        {"metadata": {"creationTimestamp": "2000-01-01T00:00:00Z"}, "data": {"k": "w"}},
        "default",
    )
    assert patched.metadata.creation_timestamp == before.metadata.creation_timestamp
    now = await secure_server.admin.get("ConfigMap", "orig", "default")
    assert now.metadata.creation_timestamp == before.metadata.creation_timestamp
    assert now.data["k"] == "w"


async def test_rest_status_patch_and_put_cannot_rename(secure_gateway: SecureGateway) -> None:
    server = secure_gateway.server
    before = await _create(server, "Node")
    answer = await secure_gateway.call(
        "PATCH",
        "/api/v1/nodes/orig/status",
        body={"metadata": {"name": "renamed"}},
        content_type="application/merge-patch+json",
    )
    assert (answer.code, answer.body["message"]) == (400, RENAME_MESSAGE), answer.body
    body = (await secure_gateway.call("GET", "/api/v1/nodes/orig/status")).body
    body["metadata"]["name"] = "renamed"
    answer = await secure_gateway.call("PUT", "/api/v1/nodes/orig/status", body=body)
    assert (answer.code, answer.body["message"]) == (400, RENAME_MESSAGE), answer.body
    await _unchanged(server, "Node", before)
