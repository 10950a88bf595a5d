"""``kubectl label`` / ``annotate`` and a controller's finalizer are merge
patches of metadata alone: the server applies them to the stored object
directly, through gRPC and REST alike, and never round-trips the object
through JSON (which cost more than the rest of the update)."""

from __future__ import annotations

from typing import Any

import pytest
from shoal.apiserver import patch
from shoal.manifest import from_dict

from tests.gateway.conftest import GatewayServer
from tests.gateway.test_http import call

MERGE = {"Content-Type": "application/merge-patch+json"}
PODS = "/api/v1/namespaces/default/pods"
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["example.com/a"]},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}


@pytest.fixture
def no_json_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> Any:
        raise AssertionError("a metadata patch went through the JSON round trip")

    monkeypatch.setattr(patch, "from_json", refuse)
    monkeypatch.setattr(patch, "to_json", refuse)


async def test_metadata_patches_skip_the_json_round_trip(
    gateway_server: GatewayServer, no_json_round_trip: None
) -> None:
    client = gateway_server.client
    created = await client.create(from_dict(POD))
    labelled = await client.patch("Pod", "web", {"metadata": {"labels": {"tier": "1"}}}, "default")
    assert dict(labelled.metadata.labels) == {"app": "web", "tier": "1"}
    code, body = await call(
        gateway_server, "PATCH", f"{PODS}/web",
        {"metadata": {"annotations": {"note": "x"}, "labels": {"app": None}}}, headers=MERGE,
    )  # fmt: skip
    assert code == 200, body
    assert body["metadata"]["labels"] == {"tier": "1"}
    assert body["metadata"]["annotations"] == {"note": "x"}
    released = await client.patch(
        "Pod", "web",
        {"metadata": {"finalizers": [], "resourceVersion": body["metadata"]["resourceVersion"]}},
        "default",
    )  # fmt: skip
    assert list(released.metadata.finalizers) == []
    assert released.spec == created.spec and released.metadata.uid == created.metadata.uid
    managers = {(f.manager, f.operation) for f in released.metadata.managed_fields}
    assert any(op == "Update" for _, op in managers)


async def test_a_metadata_patch_that_changes_nothing_writes_nothing(
    gateway_server: GatewayServer, no_json_round_trip: None
) -> None:
    client = gateway_server.client
    created = await client.create(from_dict(POD))
    same = await client.patch("Pod", "web", {"metadata": {"labels": {"app": "web"}}}, "default")
    assert same.metadata.resource_version == created.metadata.resource_version
    code, body = await call(
        gateway_server, "PATCH", f"{PODS}/web", {"metadata": {"labels": {"x": None}}},
        headers=MERGE,
    )  # fmt: skip
    assert code == 200 and body["metadata"]["resourceVersion"] == created.metadata.resource_version


async def test_a_bad_metadata_patch_is_refused_as_before(gateway_server: GatewayServer) -> None:
    """Values of the wrong type still go the long way and are named."""
    await gateway_server.client.create(from_dict(POD))
    code, body = await call(
        gateway_server, "PATCH", f"{PODS}/web", {"metadata": {"labels": {"a": 1}}}, headers=MERGE
    )
    assert code == 422 and "labels" in body["message"], body
    code, body = await call(
        gateway_server, "PATCH", f"{PODS}/web", {"metadata": {"labels": {"a": "b c"}}},
        headers=MERGE,
    )  # fmt: skip
    assert code == 422 and "metadata.labels" in body["message"], body
