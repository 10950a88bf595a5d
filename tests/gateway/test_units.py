"""The gateway's plain logic: paths, strategic merge and JSON patch, the
pod proxy's HTTP framing, tables and Status codes."""

from __future__ import annotations

from typing import Any

import pytest
from shoal import errors, kinds
from shoal.plugins.gateway import paths, table
from shoal.plugins.gateway.httpwire import parse_response, request_bytes
from shoal.plugins.gateway.jsonpatch import json_patch
from shoal.plugins.gateway.podproxy import split_name_port
from shoal.plugins.gateway.status import StatusError, from_api_error
from shoal.plugins.gateway.strategic import strategic_merge


def test_paths() -> None:
    t = paths.parse("v1", "namespaces/web/pods/nginx/log")
    assert (t.kind.kind, t.namespace, t.name, t.subresource) == ("Pod", "web", "nginx", "log")
    t = paths.parse("v1", "namespaces/web")
    assert (t.kind.kind, t.namespace, t.name) == ("Namespace", "", "web")
    t = paths.parse("apps/v1", "deployments")
    assert (t.kind.kind, t.namespace, t.name) == ("Deployment", "", "")
    t = paths.parse("v1", "namespaces/d/pods/web:8080/proxy/a/b")
    assert (t.name, t.subresource, t.rest) == ("web:8080", "proxy", "a/b")
    for bad in ("widgets", "namespaces/d/nodes/x", "pods/", "namespaces/d/pods/x/status/more"):
        with pytest.raises(StatusError):
            paths.parse("v1", bad)
    with pytest.raises(StatusError):
        paths.parse("apps/v1", "pods")


def test_strategic_merge_lists_by_key() -> None:
    live = {
        "spec": {
            "containers": [
                {"name": "a", "image": "x:1", "env": [{"name": "E", "value": "1"}]},
                {"name": "b", "image": "y:1", "ports": [{"containerPort": 80}]},
            ],
            "finalizers": ["f1"],
            "tolerations": [{"key": "k"}],
        }
    }
    patch = {
        "spec": {
            "containers": [
                {"name": "b", "ports": [{"containerPort": 443}]},
                {"name": "a", "env": [{"name": "F", "value": "2"}]},
                {"name": "c", "image": "z"},
            ],
            "finalizers": ["f2"],
            "tolerations": [{"key": "j"}],
        }
    }
    merged = strategic_merge(live, patch)["spec"]
    assert [c["name"] for c in merged["containers"]] == ["a", "b", "c"]
    assert merged["containers"][0]["env"] == [
        {"name": "E", "value": "1"},
        {"name": "F", "value": "2"},
    ]
    assert merged["containers"][1]["ports"] == [{"containerPort": 80}, {"containerPort": 443}]
    assert merged["finalizers"] == ["f1", "f2"]
    assert merged["tolerations"] == [{"key": "j"}]  # no merge key: replaced
    assert live["spec"]["containers"][0]["env"] == [{"name": "E", "value": "1"}]  # untouched


def test_strategic_merge_directives() -> None:
    live = {"c": [{"name": "a"}, {"name": "b"}], "m": {"x": 1, "y": 2}, "f": ["p", "q"]}
    patch = {
        "c": [{"name": "a", "$patch": "delete"}],
        "m": {"$patch": "replace", "z": 3},
        "$deleteFromPrimitiveList/f": ["p"],
    }
    merged = strategic_merge({"containers": live["c"], "m": live["m"], "f": live["f"]},
                             {**patch, "containers": patch.pop("c")})  # fmt: skip
    assert merged["containers"] == [{"name": "b"}]
    assert merged["m"] == {"z": 3}
    assert merged["f"] == ["q"]
    ordered = strategic_merge(
        {"containers": [{"name": "a"}, {"name": "b"}]},
        {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a", "image": "i"}],
        },
    )
    assert ordered["containers"] == [{"name": "b"}, {"name": "a", "image": "i"}]
    assert strategic_merge({"a": 1, "b": 2}, {"b": None}) == {"a": 1}
    with pytest.raises(StatusError):
        strategic_merge({"containers": []}, {"containers": [{"image": "no-name"}]})


def test_json_patch() -> None:
    doc = {"spec": {"replicas": 1, "list": [1, 2]}, "metadata": {"labels": {"a/b": "x"}}}
    ops = [
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/spec/list/-", "value": 9},
        {"op": "add", "path": "/spec/list/0", "value": 0},
        {"op": "remove", "path": "/metadata/labels/a~1b"},
        {"op": "copy", "from": "/spec/replicas", "path": "/spec/copy"},
        {"op": "test", "path": "/spec/copy", "value": 3},
    ]
    assert json_patch(doc, ops) == {
        "spec": {"replicas": 3, "list": [0, 1, 2, 9], "copy": 3},
        "metadata": {"labels": {}},
    }
    failing = [{"op": "test", "path": "/spec/replicas", "value": 2}]
    for bad in ([{"op": "remove", "path": "/nope"}], failing, [{"op": "jump", "path": "/a"}], {}):
        with pytest.raises(StatusError):
            json_patch(doc, bad)


def test_http_framing() -> None:
    raw = request_bytes(
        "POST", "/a", "x=1", {"Host": "evil", "X-Y": "z", "Connection": "up"}, b"hi", "pod:80"
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /a?x=1 HTTP/1.1"
    assert b"Host: pod:80" in head and b"X-Y: z" in head and b"evil" not in head
    assert b"Content-Length: 2" in head and body == b"hi"
    chunked = (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    assert parse_response(chunked) == (201, [("X-A", "b")], b"abcde")
    sized = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"
    assert parse_response(sized) == (200, [], b"ok")
    with pytest.raises(StatusError):
        parse_response(b"SSH-2.0-OpenSSH\r\n")


def test_pod_name_and_port() -> None:
    assert split_name_port("web") == ("web", "")
    assert split_name_port("web:8080") == ("web", "8080")
    assert split_name_port("http:web:http") == ("web", "http")
    with pytest.raises(StatusError):
        split_name_port("a:b:c:d")


def test_table_columns_and_preference() -> None:
    assert table.wants_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
    assert not table.wants_table("application/json")
    names = [
        (c["name"], c["priority"])
        for c in table.columns(table.table_for(kinds.resolve("Deployment")))
    ]
    assert names[:5] == [("Name", 0), ("Ready", 0), ("Up-To-Date", 0), ("Available", 0), ("Age", 0)]
    assert ("Containers", 1) in names


def test_status_from_errors() -> None:
    invalid = from_api_error(errors.InvalidError("bad", [("spec.x", "required")]))
    assert invalid["code"] == 422 and invalid["details"]["causes"][0]["field"] == "spec.x"
    assert from_api_error(errors.GoneError("old"))["code"] == 410
    # Expired, Gone and BadRequest have no details, whatever the request named.
    request = {"kind": "pods", "name": "web"}
    for err in (errors.GoneError("old"), errors.BadRequestError("bad")):
        assert "details" not in from_api_error(err, request)


def test_status_details_cross_grpc() -> None:
    """The server's error carries Kubernetes' StatusDetails in its trailing
    metadata; the client rebuilds them, and the gateway answers with them."""
    sent = errors.invalid("Deployment", "web", [("spec.replicas", "Invalid value: -1")], "apps")
    metadata = errors.trailing_metadata(sent)
    got = errors.from_status(sent.code, sent.message, metadata)
    assert isinstance(got, errors.InvalidError) and got.causes == sent.causes
    assert got.details() == {"name": "web", "group": "apps", "kind": "Deployment"}
    body = from_api_error(got, {"kind": "deployments", "group": "apps"})
    assert body["details"] == {
        "name": "web",
        "group": "apps",
        "kind": "Deployment",
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": "Invalid value: -1",
                "field": "spec.replicas",
            }
        ],
    }
    assert body["message"] == 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1'
    missing = errors.from_status(*_sent(errors.not_found("pods", "web")))
    assert missing.details() == {"name": "web", "kind": "pods"}


def _sent(err: errors.APIError) -> tuple[Any, str, Any]:
    return err.code, err.message, errors.trailing_metadata(err)
    assert from_api_error(errors.ConflictError("c"))["code"] == 409
    assert from_api_error(errors.ForbiddenError("no"))["code"] == 403


def test_many_long_causes_fit_grpc_metadata_limit() -> None:
    """gRPC refuses trailing metadata past 8 KiB; an invalid object with many
    long causes still sends its reason, details and the first causes."""
    causes = [(f"spec.containers[{i}].image", "Invalid value: " + "x" * 300) for i in range(12)]
    err = errors.invalid("Pod", "p" * 60, causes)
    metadata = errors.trailing_metadata(err)
    assert errors.metadata_size(metadata, err.message) <= errors.METADATA_BUDGET
    got = errors.from_status(err.code, err.message, metadata)
    assert got.details() == {"name": "p" * 60, "kind": "Pod"}
    assert isinstance(got, errors.InvalidError) and got.causes == causes[: len(got.causes)]
    few = errors.invalid("Pod", "p", causes[:2])
    assert (
        errors.from_status(few.code, few.message, errors.trailing_metadata(few)).causes
        == (causes[:2])
    )


def test_rbac_forbidden_names_the_resource() -> None:
    """kube-apiserver's authorization failure: NewForbidden(GroupResource,
    name), the resource without its subresource."""
    from shoal.apiserver.authz import Attributes, forbidden
    from shoal.auth import UserInfo

    attrs = Attributes(UserInfo("alice"), "get", "apps", "deployments", "scale", "default", "web")
    err = forbidden(attrs)
    assert err.details() == {"name": "web", "group": "apps", "kind": "deployments"}
    body = from_api_error(errors.from_status(*_sent(err)))
    assert body["details"] == err.details() and body["code"] == 403
    assert body["message"].startswith('deployments.apps "web" is forbidden: User "alice"')
