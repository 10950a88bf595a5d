"""The OpenAPI documents themselves: a schema for every kind and every
message under it, named and shaped as Kubernetes publishes them, served
from a cache with an ETag."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor
from shoal import kinds
from shoal.api.v1 import meta_pb2
from shoal.plugins.gateway import openapi, protodocs, schemas
from shoal.plugins.gateway.openapiv2pb import CONTENT_TYPE, encode_schema
from shoal.plugins.gateway.schemafacts import REQUIRED, WELL_KNOWN

from tests.gateway.conftest import GatewayServer

V2_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def _messages(root: Descriptor) -> Iterator[Descriptor]:
    """``root`` and every message under it (map entries stand for maps)."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        message = todo.pop()
        if message.full_name in seen:
            continue
        seen.add(message.full_name)
        if message.full_name in WELL_KNOWN:  # Kubernetes' own types, not walked
            continue
        if not message.GetOptions().map_entry:
            yield message
        todo += [f.message_type for f in message.fields if f.message_type is not None]


def _ref(schema: dict[str, Any]) -> str:
    """The reference of a property, bare or wrapped in v3's allOf."""
    return str(schema["allOf"][0]["$ref"] if "allOf" in schema else schema["$ref"])


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if "$ref" in value:
            yield value["$ref"]
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def test_every_kind_and_message_has_a_schema_with_every_field() -> None:
    v2 = openapi.v2_document()["definitions"]
    for kind in kinds.all_kinds():
        if kinds.generic_message(kind.message) is not None:
            continue  # a CRD test's custom kind: tests/gateway/test_crds.py checks it
        v3 = openapi.gv_document(kind.api_version)["components"]["schemas"]
        for document in (v3, v2):
            builder = schemas.Builder(schemas.V3)
            schema = document[builder.name(kind.message.DESCRIPTOR)]
            assert schema["x-kubernetes-group-version-kind"] == [
                {"group": kind.group, "kind": kind.kind, "version": kind.version}
            ]
            for message in _messages(kind.message.DESCRIPTOR):
                properties = document[builder.name(message)]["properties"]
                for field in message.fields:
                    assert field.json_name in properties, (message.full_name, field.json_name)


def test_names_types_and_references_are_kubernetes() -> None:
    document = openapi.gv_document("v1")
    found = document["components"]["schemas"]
    pod = found["io.k8s.api.core.v1.Pod"]
    assert pod["description"] == protodocs.comments()["shoal.v1.Pod"]
    assert pod["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    spec = found["io.k8s.api.core.v1.PodSpec"]
    assert spec["required"] == ["containers"]
    assert spec["properties"]["containers"]["type"] == "array"
    assert spec["properties"]["nodeSelector"]["additionalProperties"] == {"type": "string"}
    meta = found["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
    assert meta["generation"] == {"type": "integer", "format": "int64"} | {
        "description": meta["generation"]["description"]
    }
    assert _ref(meta["creationTimestamp"]).endswith(".meta.v1.Time")
    assert found["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"] == "date-time"
    port = found["io.k8s.api.core.v1.ServicePort"]["properties"]
    assert port["port"]["format"] == "int32"
    assert _ref(port["targetPort"]).endswith(".util.intstr.IntOrString")
    int_or_string = found["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string["x-kubernetes-int-or-string"] is True
    limits = found["io.k8s.api.core.v1.ResourceRequirements"]["properties"]["limits"]
    assert limits["additionalProperties"]["$ref"].endswith(".api.resource.Quantity")
    secret = found["io.k8s.api.core.v1.Secret"]["properties"]["data"]
    assert secret["additionalProperties"] == {"type": "string", "format": "byte"}
    # every reference resolves inside its own document
    for ref in _refs(document):
        assert ref.removeprefix("#/components/schemas/") in found, ref
    v2 = openapi.v2_document()
    for ref in _refs(v2):
        assert ref.startswith("#/definitions/") and ref[14:] in v2["definitions"], ref


def test_required_fields_exist() -> None:
    """A typo in the table would silently mark nothing required."""
    v2 = openapi.v2_document()["definitions"]
    by_message = {
        m.full_name: schemas.Builder(schemas.V2).name(m)
        for k in kinds.all_kinds()
        for m in _messages(k.message.DESCRIPTOR)
    }
    for message, required in REQUIRED.items():
        properties = v2[by_message[message]]["properties"]
        assert set(required) <= set(properties), message


def test_v2_protobuf_encoding() -> None:
    # Schema{description=4 "d", type=22 TypeItem{value=1 "string"}}
    assert encode_schema({"description": "d", "type": "string"}) == (
        b"\x22\x01d" + b"\xb2\x01\x08\x0a\x06string"
    )


async def test_served_cached_with_etag(gateway_server: GatewayServer) -> None:
    http = gateway_server.http
    async with http.get("/openapi/v3") as response:
        index = await response.json()
        assert response.headers["Cache-Control"] == "no-cache, private"
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    async with http.get(url) as response:
        assert response.status == 200 and response.headers["Cache-Control"] == "public, immutable"
        etag = response.headers["ETag"]
        assert "io.k8s.api.apps.v1.Deployment" in (await response.json())["components"]["schemas"]
    async with http.get(url, headers={"If-None-Match": etag}) as response:
        assert response.status == 304
    stale = url.partition("?")[0] + "?hash=0123"
    async with http.get(stale, allow_redirects=False) as response:
        assert response.status == 301 and response.headers["Location"] == url
    async with http.get("/openapi/v3/apis/nosuch/v1") as response:
        assert response.status == 404
    async with http.get("/openapi/v2", headers={"Accept": V2_ACCEPT}) as response:
        assert response.headers["Content-Type"] == CONTENT_TYPE
        assert b"io.k8s.api.core.v1.Pod" in await response.read()
    async with http.get("/openapi/v2") as response:
        v2 = json.loads(await response.read())
        assert v2["swagger"] == "2.0" and "io.k8s.api.core.v1.Pod" in v2["definitions"]
    fingerprint = openapi._fingerprint()
    assert openapi._v3_documents(fingerprint) is openapi._v3_documents(fingerprint)


def test_a_kind_registered_later_gets_its_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    for attr in ("_kinds", "_by_name", "_by_message", "_by_api_version_kind"):
        monkeypatch.setattr(kinds, attr, getattr(kinds, attr).copy())  # register() mutates
    before = openapi._v3_root(openapi._fingerprint())
    widget = kinds.Kind(
        "Widget", "example.com/v1", "widgets", "widget", (), True,
        meta_pb2.LocalObjectReference, False,
    )  # fmt: skip
    kinds.register(widget)
    index = json.loads(openapi._v3_root(openapi._fingerprint()).body)
    assert "apis/example.com/v1" in index["paths"]
    assert openapi._v3_root(openapi._fingerprint()) is not before
    found = openapi.gv_document("example.com/v1")["components"]["schemas"]
    schema = found["io.k8s.api.core.v1.LocalObjectReference"]
    gvk = {"group": "example.com", "kind": "Widget", "version": "v1"}
    assert schema["x-kubernetes-group-version-kind"] == [gvk]
