"""Bad input gets the code Kubernetes gives it and a message that says what
was wrong, on gRPC and REST alike: never INTERNAL, UNKNOWN or 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import grpc
import pytest
from shoal import errors
from shoal.api.v1 import api_pb2

from tests.security.boundary import CONFIGMAPS, Boundary

RANDOM = bytes.fromhex("0f8b5c1ee7a96dff00c3")  # field 1 with wire type 7: no protobuf


def _token(rv: Any, start: Any = "/registry/configmaps/default/a") -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": start}).encode()).decode()


async def _raw_call(b: Boundary, method: str, data: bytes) -> grpc.aio.AioRpcError:
    call = b.clients["editor"].channel.unary_unary(
        f"/shoal.v1.Objects/{method}",
        request_serializer=lambda x: x,
        response_deserializer=lambda x: x,
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(data)
    return err.value


@pytest.mark.parametrize("method", ["Create", "Get", "List", "Patch"])
async def test_random_bytes_as_a_grpc_request(boundary: Boundary, method: str) -> None:
    err = await _raw_call(boundary, method, RANDOM)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"the request to /shoal.v1.Objects/{method} is not a valid protobuf" in (
        err.details() or ""
    )


async def test_random_bytes_as_an_object(boundary: Boundary) -> None:
    request = api_pb2.CreateRequest()
    request.object.type_url = "type.googleapis.com/shoal.v1.ConfigMap"
    request.object.value = RANDOM
    err = await _raw_call(boundary, "Create", request.SerializeToString())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed ConfigMap object" in (err.details() or "")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
)
async def test_random_bytes_as_a_rest_body(boundary: Boundary, content_type: str) -> None:
    answer = await boundary.rest("editor", "POST", CONFIGMAPS, RANDOM, content_type)
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest")
    assert "request body" in answer.body["message"] or "format" in answer.body["message"]


async def test_a_wrong_content_type_is_unsupported(boundary: Boundary) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain"}})
    answer = await boundary.rest("editor", "POST", CONFIGMAPS, body, "text/plain")
    assert (answer.code, answer.body["reason"]) == (415, "UnsupportedMediaType")
    assert '"text/plain"' in answer.body["message"]
    with pytest.raises(errors.NotFoundError):
        await boundary.admin.get("configmaps", "plain", "default")


async def test_a_list_at_a_version_not_reached_yet(boundary: Boundary) -> None:
    with pytest.raises(errors.ServerTimeoutError) as err:
        await boundary.clients["viewer"].list(
            "configmaps", "default", resource_version="99999999999"
        )
    assert err.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert err.value.message.startswith("Too large resource version: 99999999999, current: ")
    assert err.value.retry_after_seconds == 1
    answer = await boundary.rest("viewer", "GET", f"{CONFIGMAPS}?resourceVersion=99999999999")
    assert (answer.code, answer.body["reason"]) == (504, "Timeout")
    assert answer.body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    assert answer.headers["Retry-After"] == "1"


@pytest.mark.parametrize("version", ["abc", "-1", str(2**64), str(2**63), "1e3", " 5", "\u00b2"])
async def test_a_list_at_a_malformed_version(boundary: Boundary, version: str) -> None:
    with pytest.raises(errors.BadRequestError) as err:
        await boundary.clients["viewer"].list("configmaps", "default", resource_version=version)
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid resource version" in err.value.message
    answer = await boundary.rest("viewer", "GET", f"{CONFIGMAPS}?resourceVersion={version}")
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest")
    watch_list = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
    answer = await boundary.rest(
        "viewer", "GET", f"{CONFIGMAPS}?{watch_list}&resourceVersion={version}"
    )
    assert answer.code == 400 and answer.body["reason"] == "BadRequest", answer.body


@pytest.mark.parametrize(
    "token", [_token(-5), _token(2**64), _token("abc"), _token(True), _token(None), _token(3, 7),
              _token(3, "/registry/secrets/default/x"), "!!!", base64.b64encode(b"[1]").decode()],
)  # fmt: skip
async def test_a_malformed_continue_token(boundary: Boundary, token: str) -> None:
    with pytest.raises(errors.BadRequestError) as err:
        await boundary.clients["viewer"].list(
            "configmaps", "default", limit=1, continue_token=token
        )
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid continue token" in err.value.message
    answer = await boundary.rest("viewer", "GET", f"{CONFIGMAPS}?limit=1&continue={token}")
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest")


async def test_a_watch_with_a_malformed_timeout(boundary: Boundary) -> None:
    answer = await boundary.rest("viewer", "GET", f"{CONFIGMAPS}?watch=true&timeoutSeconds=abc")
    assert (answer.code, answer.body["reason"]) == (400, "BadRequest")
    assert 'timeoutSeconds: Invalid value: "abc"' in answer.body["message"]


@pytest.mark.parametrize("value", ["abc", "\u00b2", "-\u00b2"])
async def test_a_log_request_with_a_malformed_count(boundary: Boundary, value: str) -> None:
    """str.isdigit() takes "²", which int() refuses: a 400, never a 500."""
    for name in ("tailLines", "limitBytes"):
        path = f"/api/v1/namespaces/default/pods/none/log?{name}={value}"
        answer = await boundary.rest("viewer", "GET", path)
        assert (answer.code, answer.body["reason"]) == (400, "BadRequest"), answer.body
