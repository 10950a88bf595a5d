"""Deleted objects and paged history through the secure API server, over
gRPC and over REST alike: ``ListDeleted`` needs ``list`` on the kind (in the
namespace, or cluster-wide for every namespace), a deleted object's history
stays readable (a Secret's values redacted), and a bad ``limit`` or
``continue`` token is refused as a bad request."""

from __future__ import annotations

import base64
import json

import pytest
from shoal import errors
from shoal.client.client import unpack
from shoal.manifest import from_dict

from tests.security.authz_helpers import binding, refused, until_allowed
from tests.security.conftest import SecureGateway, SecureServer

BASE = "/apis/history.shoal.dev/v1"
ADMINS = ("system:masters",)


def _cm(name: str, namespace: str, value: str) -> object:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"k": value},
        }
    )


async def _deleted_by(server: SecureServer, user: str) -> None:
    """cm a, b in default and c in other, deleted by ``user``; d stays."""
    await server.admin.create(
        from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    )
    for name, ns in (("a", "default"), ("b", "default"), ("c", "other"), ("d", "default")):
        await server.admin.create(_cm(name, ns, "1"))
    await server.admin.patch("ConfigMap", "a", {"data": {"k": "2"}}, "default")
    client = server.user_client(user, ADMINS)
    try:
        for name, ns in (("a", "default"), ("b", "default"), ("c", "other")):
            await client.delete("ConfigMap", name, ns)
    finally:
        await client.close()


async def test_deleted_objects_over_grpc(secure_server: SecureServer) -> None:
    server = secure_server
    await _deleted_by(server, "erin")
    here = await server.admin.deleted("ConfigMap", "default")
    assert [(i.kind, i.namespace, i.name, i.user, i.verb) for i in here.items] == [
        ("ConfigMap", "default", "a", "erin", "delete"),
        ("ConfigMap", "default", "b", "erin", "delete"),
    ]
    assert all(i.time.endswith("Z") and int(i.resource_version) > 0 for i in here.items)
    everywhere = await server.admin.deleted("configmaps")
    assert [(i.namespace, i.name) for i in everywhere.items] == [
        ("default", "a"),
        ("default", "b"),
        ("other", "c"),
    ]
    # A deleted object's history: every revision up to the delete.
    entries = await server.admin.history("ConfigMap", "a", "default")
    assert [(e.type, e.user) for e in entries] == [
        ("CREATE", "shoal-admin"),
        ("UPDATE", "shoal-admin"),
        ("DELETE", "erin"),
    ]
    assert [unpack(e.object).data["k"] for e in entries] == ["1", "2", "2"]
    assert entries[-1].resource_version == here.items[0].resource_version

    first = await server.admin.deleted("ConfigMap", "", limit=2)
    assert [i.name for i in first.items] == ["a", "b"] and first.continue_token
    rest = await server.admin.deleted("ConfigMap", "", 2, first.continue_token)
    assert [i.name for i in rest.items] == ["c"] and not rest.continue_token


async def test_a_deleted_secret_keeps_its_values_hidden(secure_server: SecureServer) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
    }
    await secure_server.admin.create(from_dict({**secret, "stringData": {"password": "hunter2"}}))
    await secure_server.admin.delete("Secret", "db", "default")
    gone = await secure_server.admin.deleted("Secret", "default")
    assert [i.name for i in gone.items] == ["db"]
    entries = await secure_server.admin.history("Secret", "db", "default")
    assert [e.type for e in entries] == ["CREATE", "DELETE"]
    for entry in entries:
        assert b"hunter2" not in entry.SerializeToString()
        assert unpack(entry.object).data["password"].startswith(b"<redacted ")


async def test_history_pages_over_grpc(secure_server: SecureServer) -> None:
    admin = secure_server.admin
    await admin.create(_cm("p", "default", "0"))
    for n in range(1, 5):
        await admin.patch("ConfigMap", "p", {"data": {"k": str(n)}}, "default")
    whole = await admin.history("ConfigMap", "p", "default")
    assert len(whole) == 5
    first = await admin.history_page("ConfigMap", "p", "default", limit=2)
    assert list(first.items) == whole[:2] and first.continue_token
    second = await admin.history_page("ConfigMap", "p", "default", 2, first.continue_token)
    assert list(second.items) == whole[2:4]
    last = await admin.history_page("ConfigMap", "p", "default", 2, second.continue_token)
    assert list(last.items) == whole[4:] and not last.continue_token
    assert await admin.history("ConfigMap", "p", "default", page=1) == whole


async def test_bad_paging_is_a_bad_request_over_grpc(secure_server: SecureServer) -> None:
    admin = secure_server.admin
    await admin.create(_cm("p", "default", "0"))
    await admin.create(_cm("q", "default", "0"))
    await admin.patch("ConfigMap", "q", {"data": {"k": "1"}}, "default")
    other = (await admin.history_page("ConfigMap", "q", "default", limit=1)).continue_token
    for token in ("not-a-token!", base64.urlsafe_b64encode(b'{"rv": "x"}').decode(), other):
        with pytest.raises(errors.BadRequestError):
            await admin.history_page("ConfigMap", "p", "default", 1, token)
    with pytest.raises(errors.BadRequestError):
        await admin.history_page("ConfigMap", "p", "default", limit=-1)
    with pytest.raises(errors.BadRequestError):
        await admin.deleted("ConfigMap", "default", 1, "garbage")
    with pytest.raises(errors.BadRequestError):  # a token for another namespace's prefix
        await admin.deleted("ConfigMap", "other", 1, _token(1, "/registry/configmaps/default/a"))


def _token(rv: int, start: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": start}).encode()).decode()


async def test_listing_deleted_objects_needs_list(secure_server: SecureServer) -> None:
    server = secure_server
    await _deleted_by(server, "erin")
    carol = server.user_client("carol")  # no bindings
    dana = server.user_client("dana")  # may list in default only
    try:
        await refused(carol.deleted("ConfigMap", "default"))
        await server.admin.create(binding("dana-view", "view", user="dana", namespace="default"))
        await until_allowed(dana, "list", "configmaps", "default")
        mine = await dana.deleted("ConfigMap", "default")
        assert [i.name for i in mine.items] == ["a", "b"]
        await refused(dana.deleted("ConfigMap", ""))  # every namespace: cluster-wide list
        await refused(dana.deleted("ConfigMap", "other"))
    finally:
        await carol.close()
        await dana.close()


# -- REST -------------------------------------------------------------------


async def test_deleted_and_paging_over_rest(secure_gateway: SecureGateway) -> None:
    gw = secure_gateway
    await _deleted_by(gw.server, "erin")
    listed = await gw.call("GET", f"{BASE}/deleted/core/v1/namespaces/default/configmaps")
    assert listed.code == 200, listed.body
    assert listed.body["kind"] == "DeletedObjectList"
    assert [(i["name"], i["user"]) for i in listed.body["items"]] == [("a", "erin"), ("b", "erin")]
    paged = await gw.call("GET", f"{BASE}/deleted/core/v1/configmaps?limit=2")
    assert [i["name"] for i in paged.body["items"]] == ["a", "b"]
    token = paged.body["metadata"]["continue"]
    rest = await gw.call("GET", f"{BASE}/deleted/core/v1/configmaps?limit=2&continue={token}")
    assert [i["namespace"] for i in rest.body["items"]] == ["other"]
    assert "continue" not in rest.body["metadata"]

    path = f"{BASE}/core/v1/namespaces/default/configmaps/a"
    whole = await gw.call("GET", path)
    assert [i["type"] for i in whole.body["items"]] == ["CREATE", "UPDATE", "DELETE"]
    first = await gw.call("GET", f"{path}?limit=2")
    assert first.body["items"] == whole.body["items"][:2]
    token = first.body["metadata"]["continue"]
    second = await gw.call("GET", f"{path}?limit=2&continue={token}")
    assert second.body["items"] == whole.body["items"][2:]


async def test_bad_paging_is_400_over_rest(secure_gateway: SecureGateway) -> None:
    gw = secure_gateway
    await _deleted_by(gw.server, "erin")
    path = f"{BASE}/core/v1/namespaces/default/configmaps/a"
    for query in ("continue=garbage", "limit=x", "limit=-1"):
        answer = await gw.call("GET", f"{path}?{query}")
        assert answer.code == 400, (query, answer.body)
    answer = await gw.call("GET", f"{BASE}/deleted/core/v1/configmaps?continue=garbage")
    assert answer.code == 400, answer.body
    assert "continue" in answer.body["message"]


async def test_listing_deleted_needs_list_over_rest(secure_gateway: SecureGateway) -> None:
    gw = secure_gateway
    await _deleted_by(gw.server, "erin")
    answer = await gw.call(
        "GET", f"{BASE}/deleted/core/v1/namespaces/default/configmaps", user="carol", groups=()
    )
    assert answer.code == 403, answer.body
    assert "carol" in answer.body["message"] and "list" in answer.body["message"]


async def test_namespace_only_list_and_deleted_secret_over_rest(
    secure_gateway: SecureGateway,
) -> None:
    gw = secure_gateway
    await _deleted_by(gw.server, "erin")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}}
    made = await gw.call(
        "POST",
        "/api/v1/namespaces/default/secrets",
        body={**secret, "stringData": {"p": "hunter2"}},
    )
    assert made.code == 201, made.body
    assert (await gw.call("DELETE", "/api/v1/namespaces/default/secrets/db")).code == 200
    history = await gw.call("GET", f"{BASE}/core/v1/namespaces/default/secrets/db")
    assert [i["type"] for i in history.body["items"]] == ["CREATE", "DELETE"]
    assert "hunter2" not in str(history.body) and "aHVudGVyMg" not in str(history.body)

    await gw.server.admin.create(binding("dana-view", "view", user="dana", namespace="default"))
    dana = gw.server.user_client("dana")
    try:
        await until_allowed(dana, "list", "configmaps", "default")
    finally:
        await dana.close()
    mine = await gw.call(
        "GET", f"{BASE}/deleted/core/v1/namespaces/default/configmaps", user="dana", groups=()
    )
    assert mine.code == 200, mine.body
    assert [i["name"] for i in mine.body["items"]] == ["a", "b"]
    everywhere = await gw.call("GET", f"{BASE}/deleted/core/v1/configmaps", user="dana", groups=())
    assert everywhere.code == 403, everywhere.body
    secrets = await gw.call(
        "GET", f"{BASE}/deleted/core/v1/namespaces/default/secrets", user="dana", groups=()
    )
    assert secrets.code == 403, secrets.body  # view may not list Secrets
