"""Amplification at the API boundary: a small body that would make the
server do enormous work is refused before the work, authorization comes
before parsing, and everyone else is served meanwhile."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest
import yaml
from shoal import errors
from shoal.api.v1 import api_pb2, api_pb2_grpc
from shoal.manifest import from_dict

from tests.security.boundary import CONFIGMAPS, NOBODY, Boundary

# 432 bytes that expand to 9**9 (387 million) strings: "billion laughs".
BILLION_LAUGHS = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
)
DEADLINE = 30.0  # generous: completion, not speed, is what is asserted


def copy_bomb(operations: int) -> list[dict[str, str]]:
    """Each copy doubles ``data``: 20 operations (under a kilobyte) make a
    million nodes, 25 thirty-two times that."""
    return [{"op": "copy", "from": "/data", "path": f"/data/k{i}"} for i in range(operations)]


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts YAML documents the server composes (every YAML loader does)."""
    calls: list[int] = []
    original = yaml.composer.Composer.compose_document

    def compose_document(self: Any) -> Any:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(yaml.composer.Composer, "compose_document", compose_document)
    return calls


async def _victim_reads(b: Boundary) -> None:
    """Another user's reads, over REST and gRPC, finish while the attack runs."""
    answer = await b.rest("victim", "GET", CONFIGMAPS, timeout=DEADLINE)
    assert answer.code == 200
    await asyncio.wait_for(b.clients["victim"].list("configmaps", "default"), DEADLINE)


async def _configmap(b: Boundary, name: str = "target") -> Any:
    return await b.admin.create(
        from_dict(
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": name, "namespace": "default"}, "data": {"a": "x"}}
        )
    )  # fmt: skip


assert len(BILLION_LAUGHS) < 450


async def test_billion_laughs_from_a_caller_without_rights_is_refused_unparsed(
    boundary: Boundary, composed: list[int]
) -> None:
    attack = boundary.rest("nobody", "POST", CONFIGMAPS, BILLION_LAUGHS, "application/yaml")
    answer, _ = await asyncio.gather(attack, _victim_reads(boundary))
    assert (answer.code, answer.body["reason"]) == (403, "Forbidden")
    assert f'User "{NOBODY}" cannot create resource "configmaps"' in answer.body["message"]
    assert composed == []  # never parsed
    with pytest.raises(errors.NotFoundError):
        await boundary.admin.get("configmaps", "lol", "default")


async def test_billion_laughs_from_an_editor_is_a_bad_request(
    boundary: Boundary,
) -> None:
    attack = boundary.rest("editor", "POST", CONFIGMAPS, BILLION_LAUGHS, "application/yaml")
    answer, _ = await asyncio.gather(attack, _victim_reads(boundary))
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest")
    assert "aliases" in answer.body["message"]
    with pytest.raises(errors.NotFoundError):
        await boundary.admin.get("configmaps", "lol", "default")


async def test_copy_patch_bomb_from_a_viewer_is_refused_before_the_object_is_read(
    boundary: Boundary,
) -> None:
    before = await _configmap(boundary)
    attack = boundary.rest(
        "viewer", "PATCH", f"{CONFIGMAPS}/target", copy_bomb(20), "application/json-patch+json"
    )
    answer, _ = await asyncio.gather(attack, _victim_reads(boundary))
    assert (answer.code, answer.body["reason"]) == (403, "Forbidden")
    assert 'User "viewer" cannot patch resource "configmaps"' in answer.body["message"]
    assert boundary.records("viewer") == []  # the gateway did not even read the object
    after = await boundary.admin.get("configmaps", "target", "default")
    assert after.metadata.resource_version == before.metadata.resource_version


async def test_copy_patch_bomb_from_an_editor_is_too_large(boundary: Boundary) -> None:
    before = await _configmap(boundary)
    attack = boundary.rest(
        "editor", "PATCH", f"{CONFIGMAPS}/target", copy_bomb(25), "application/json-patch+json"
    )
    answer, _ = await asyncio.gather(attack, _victim_reads(boundary))
    assert (answer.code, answer.body["reason"]) == (422, "Invalid")
    assert "accumulated size increase of copy exceeds the limit" in answer.body["message"]
    after = await boundary.admin.get("configmaps", "target", "default")
    assert after.metadata.resource_version == before.metadata.resource_version


async def test_too_many_patch_operations(boundary: Boundary) -> None:
    before = await _configmap(boundary)
    tests = [{"op": "test", "path": "/data/a", "value": "x"}] * 10_001
    answer = await boundary.rest(
        "editor", "PATCH", f"{CONFIGMAPS}/target", tests, "application/json-patch+json"
    )
    assert (answer.code, answer.body["reason"]) == (413, "RequestEntityTooLarge")
    assert "maximum operations in a JSON patch is 10000, got 10001" in answer.body["message"]
    assert boundary.records("editor") == []
    after = await boundary.admin.get("configmaps", "target", "default")
    assert after.metadata.resource_version == before.metadata.resource_version


def _big_configmap(size: int) -> dict[str, Any]:
    meta = {"name": "big", "namespace": "default"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "x" * size}}


async def test_a_body_over_the_limit_is_refused_on_both_apis(boundary: Boundary) -> None:
    size = 3 * 1024 * 1024 + 512 * 1024
    answer = await boundary.rest("editor", "POST", CONFIGMAPS, json.dumps(_big_configmap(size)))
    assert (answer.code, answer.body["reason"]) == (413, "RequestEntityTooLarge")
    with pytest.raises(errors.APIError) as err:
        await boundary.clients["editor"].create(from_dict(_big_configmap(size)))
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(errors.NotFoundError):
        await boundary.admin.get("configmaps", "big", "default")


async def test_deep_nesting_is_a_bad_request_on_both_apis(boundary: Boundary) -> None:
    await _configmap(boundary)
    deep = "[" * 5000 + "]" * 5000
    body = f'{{"metadata": {{"annotations": {{"a": "b"}}}}, "x": {deep}}}'
    answer = await boundary.rest(
        "editor", "PATCH", f"{CONFIGMAPS}/target", body, "application/merge-patch+json"
    )
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest")
    assert "nested too deeply" in answer.body["message"]
    answer = await boundary.rest("editor", "POST", CONFIGMAPS, body)
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest")
    key = api_pb2.ObjectKey(kind="configmaps", namespace="default", name="target")
    request = api_pb2.PatchRequest(key=key, patch_type="merge", patch=body.encode())
    stub = api_pb2_grpc.ObjectsStub(boundary.clients["editor"].channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Patch(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "nested too deeply" in (err.value.details() or "")


async def test_a_patch_that_makes_an_object_over_the_limit(boundary: Boundary) -> None:
    before = await _configmap(boundary)
    chunk = "x" * (900 * 1024)
    adds = [{"op": "add", "path": f"/data/k{i}", "value": chunk} for i in range(3)]
    answer = await boundary.rest(
        "editor", "PATCH", f"{CONFIGMAPS}/target", adds, "application/json-patch+json"
    )
    assert answer.code in (413, 422), answer.body
    assert answer.body["reason"] in ("RequestEntityTooLarge", "Invalid")
    after = await boundary.admin.get("configmaps", "target", "default")
    assert after.metadata.resource_version == before.metadata.resource_version


async def test_a_long_strategic_merge_list_past_the_size_limit_is_refused(
    boundary: Boundary,
) -> None:
    """4,000 named items of 400 bytes merged into a list: the merged object
    passes the 1.5 MiB limit, so it is refused and nothing changes. That such
    a merge costs linear time (items found by index, not a scan per item) is
    counted, not timed: tests/gateway/test_strategic_merge_cost.py."""
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "main", "image": "nginx"}]},
    }
    spec = {"selector": {"matchLabels": {"app": "web"}}, "template": template}
    meta = {"name": "web", "namespace": "default"}
    await boundary.admin.create(
        from_dict({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec})
    )
    env = [{"name": f"e{i}", "value": "x" * 400} for i in range(4_000)]
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "main", "env": env}]}}}}
    path = "/apis/apps/v1/namespaces/default/deployments/web"
    smp = "application/strategic-merge-patch+json"
    attack = boundary.rest("editor", "PATCH", path, patch, smp, timeout=DEADLINE)
    answer, _ = await asyncio.gather(attack, _victim_reads(boundary))
    assert answer.code == 422 and "is too large" in answer.body["message"], answer.body
    after = await boundary.admin.get("deployments", "web", "default")
    assert len(after.spec.template.spec.containers[0].env) == 0


async def test_a_patch_that_nests_too_deeply(boundary: Boundary) -> None:
    """Each add goes one level deeper: the result, not just the body, is bounded."""
    before = await _configmap(boundary)
    adds = [{"op": "add", "path": "/metadata/annotations", "value": {}}] + [
        {"op": "add", "path": "/metadata/annotations" + "/a" * i, "value": {}}
        for i in range(1, 1200)
    ]
    answer = await boundary.rest(
        "editor", "PATCH", f"{CONFIGMAPS}/target", adds, "application/json-patch+json"
    )
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest")
    assert "nested too deeply" in answer.body["message"]
    after = await boundary.admin.get("configmaps", "target", "default")
    assert after.metadata.resource_version == before.metadata.resource_version
