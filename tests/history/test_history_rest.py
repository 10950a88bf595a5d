"""Object history through the secure REST gateway: the same answer as gRPC,
as the requesting user (``get`` on the object needed), Secret values redacted."""

from __future__ import annotations

from tests.security.conftest import SecureGateway

BASE = "/apis/history.shoal.dev/v1"
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}}
ADMINS = ("system:masters",)


async def test_history_over_rest_names_each_writer(secure_gateway: SecureGateway) -> None:
    gw = secure_gateway
    path = "/api/v1/namespaces/default/configmaps"
    made = await gw.call("POST", path, user="alice", groups=ADMINS, body={**CM, "data": {"a": "1"}})
    assert made.code == 201, made.body
    patch = {"data": {"a": "2"}}
    changed = await gw.call(
        "PATCH", f"{path}/cfg", user="bob", groups=ADMINS, body=patch,
        content_type="application/merge-patch+json",
    )  # fmt: skip
    assert changed.code == 200, changed.body

    answer = await gw.call("GET", f"{BASE}/core/v1/namespaces/default/configmaps/cfg")
    assert answer.code == 200, answer.body
    assert answer.body["kind"] == "ObjectHistory"
    items = answer.body["items"]
    assert [(i["type"], i["verb"], i["user"]) for i in items] == [
        ("CREATE", "create", "alice"),
        ("UPDATE", "patch", "bob"),
    ]
    assert [i["object"]["data"]["a"] for i in items] == ["1", "2"]
    assert items[1]["resourceVersion"] == changed.body["metadata"]["resourceVersion"]


async def test_history_over_rest_is_refused_without_get(secure_gateway: SecureGateway) -> None:
    gw = secure_gateway
    made = await gw.call(
        "POST", "/api/v1/namespaces/default/configmaps", body={**CM, "data": {"a": "1"}}
    )
    assert made.code == 201, made.body
    answer = await gw.call(
        "GET", f"{BASE}/core/v1/namespaces/default/configmaps/cfg", user="carol", groups=()
    )
    assert answer.code == 403, answer.body
    assert "carol" in answer.body["message"]


async def test_secret_history_over_rest_hides_values(secure_gateway: SecureGateway) -> None:
    gw = secure_gateway
    body = {**SECRET, "stringData": {"password": "hunter2"}}
    made = await gw.call("POST", "/api/v1/namespaces/default/secrets", body=body)
    assert made.code == 201, made.body
    answer = await gw.call("GET", f"{BASE}/core/v1/namespaces/default/secrets/db")
    assert answer.code == 200, answer.body
    assert "hunter2" not in str(answer.body)
    assert "aHVudGVyMg" not in str(answer.body)  # nor its base64
    assert [i["user"] for i in answer.body["items"]] == ["admin"]


async def test_history_of_an_unknown_kind_is_not_found(secure_gateway: SecureGateway) -> None:
    answer = await secure_gateway.call("GET", f"{BASE}/core/v1/namespaces/default/nothings/x")
    assert answer.code == 404, answer.body
