"""Fuzzing the request decoders: random and mutated bodies through the
gateway's body decoding (JSON, YAML, Kubernetes protobuf) and patches, and
through the gRPC Objects service's request and Any decoding. Whatever the
bytes, the answer is a client error (400, 413, 415, 422 / INVALID_ARGUMENT,
RESOURCE_EXHAUSTED), never an exception that would be INTERNAL / UNKNOWN / 500."""

from __future__ import annotations

import json
from typing import Any

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shoal import errors, kinds
from shoal.api.v1 import api_pb2
from shoal.apiserver.malformed import Malformed, lenient
from shoal.apiserver.patch import parse_patch
from shoal.apiserver.service import unpack
from shoal.plugins.gateway import bodies
from shoal.plugins.gateway.jsonpatch import json_patch
from shoal.plugins.gateway.paths import parse
from shoal.plugins.gateway.status import StatusError
from shoal.plugins.gateway.strategic import strategic_merge

from tests.gateway.test_protobuf import entry, envelope, object_meta

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
CLIENT_CODES = {400, 404, 409, 413, 415, 422}
CLIENT_STATUSES = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.NOT_FOUND,
}

CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "default", "labels": {"a": "b"}},
    "data": {"k": "v"},
}
SEEDS = {
    "application/json": json.dumps(CONFIGMAP).encode(),
    "application/yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    b"data:\n  k: v\n  list: [1, {a: b}]\n",
    bodies.PROTOBUF: envelope("v1", "ConfigMap", object_meta("c", app="web") + entry(2, "k", "v")),
}
TARGET = parse("v1", "namespaces/default/configmaps")


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few bytes flipped, inserted, deleted, or cut short."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at]
        elif action == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 32))]
    return bytes(data)


DEEP = [b"[" * 5000, b'{"a":' * 3000, b"- " * 3000, b"a: " * 2000, b"[" * 150 + b"]" * 150]


def bodies_of(media: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=300), mutated(SEEDS[media]), st.sampled_from(DEEP))


def _client_error(call: Any, *args: Any) -> Any:
    """``call(*args)``: fine, or a client error; anything else fails the test."""
    try:
        return call(*args)
    except StatusError as err:
        assert err.body["code"] in CLIENT_CODES, err.body
    except errors.APIError as err:
        assert err.code in CLIENT_STATUSES, (err.code, err.message)
    return None


def _gateway_decodes(media: str, raw: bytes) -> None:
    data = _client_error(bodies.decode, media, raw)
    if data is not None:
        _client_error(bodies.to_message, data, TARGET)


@FUZZ
@given(raw=bodies_of("application/json"))
def test_json_bodies(raw: bytes) -> None:
    _gateway_decodes("application/json", raw)


@FUZZ
@given(raw=bodies_of("application/yaml"))
def test_yaml_bodies(raw: bytes) -> None:
    _gateway_decodes("application/yaml", raw)


@FUZZ
@given(raw=bodies_of(bodies.PROTOBUF))
def test_protobuf_bodies(raw: bytes) -> None:
    _gateway_decodes(bodies.PROTOBUF, raw)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)
OPERATIONS = st.lists(
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "x"]),
            "path": st.sampled_from(
                [
                    "",
                    "/",
                    "/data",
                    "/data/k",
                    "/data/-",
                    "/metadata/labels/a",
                    "/x/0",
                    "/data/k/0",
                    "a",
                    5,
                ]
            ),
        },
        optional={
            "from": st.sampled_from(["/data", "/metadata", "", "/nope", 3]),
            "value": JSON_VALUES,
        },
    ),
    max_size=6,
)


@FUZZ
@given(operations=st.one_of(OPERATIONS, JSON_VALUES))
def test_json_patches(operations: Any) -> None:
    _client_error(json_patch, CONFIGMAP, operations)


@FUZZ
@given(patch=JSON_VALUES)
def test_strategic_and_merge_patches(patch: Any) -> None:
    _client_error(strategic_merge, CONFIGMAP, patch)
    _client_error(parse_patch, "merge", json.dumps(patch).encode())


@FUZZ
@given(raw=st.one_of(st.binary(max_size=200), mutated(json.dumps({"data": {"k": None}}).encode())))
def test_grpc_patch_bodies(raw: bytes) -> None:
    _client_error(parse_patch, "merge", raw)


def _request(obj: Any) -> bytes:
    request = api_pb2.CreateRequest()
    request.object.Pack(obj)
    return request.SerializeToString()


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), mutated(_request(kinds.resolve("Pod").message()))))
def test_grpc_requests_and_their_objects(raw: bytes) -> None:
    request = lenient(api_pb2.CreateRequest.FromString)(raw)  # type: ignore[misc]
    if isinstance(request, Malformed):
        return  # refused as INVALID_ARGUMENT by the interceptor
    _client_error(unpack, request.object)


@FUZZ
@given(
    type_url=st.sampled_from(
        [
            "",
            "type.googleapis.com/shoal.v1.Pod",
            "x/shoal.v1.Nope",
            "type.googleapis.com/google.protobuf.Any",
            "/",
        ]
    ),
    value=st.binary(max_size=300),
)
def test_grpc_any_objects(type_url: str, value: bytes) -> None:
    _client_error(unpack, AnyProto(type_url=type_url, value=value))
