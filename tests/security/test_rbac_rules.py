"""RBAC rule matching, request attributes and refusal wording, without a
server."""

from __future__ import annotations

import pytest
from google.protobuf import json_format
from shoal.api.v1 import api_pb2, rbac_pb2
from shoal.apiserver.authz import Attributes, forbidden_message
from shoal.apiserver.rbac import rule_allows
from shoal.apiserver.requestinfo import http_attributes, object_attributes
from shoal.auth import UserInfo

ALICE = UserInfo("alice", ("dev",))


def rule(**fields: object) -> rbac_pb2.PolicyRule:
    return json_format.ParseDict(fields, rbac_pb2.PolicyRule())


def attrs(verb: str, resource: str, sub: str = "", name: str = "", group: str = "") -> Attributes:
    return Attributes(ALICE, verb, group, resource, sub, "default", name)


def r(verbs: str, groups: str, resources: str, names: str = "") -> dict[str, object]:
    fields: dict[str, object] = {"verbs": verbs.split(), "resources": resources.split()}
    fields["apiGroups"] = ["" if g == "core" else g for g in groups.split()]
    if names:
        fields["resourceNames"] = names.split()
    return fields


@pytest.mark.parametrize(
    ("fields", "request_", "allowed"),
    [
        (r("get", "core", "pods"), attrs("get", "pods"), True),
        (r("get", "core", "pods"), attrs("list", "pods"), False),
        (r("*", "*", "*"), attrs("delete", "x", "y"), True),
        (r("get", "core", "pods"), attrs("get", "pods", "log"), False),
        (r("get", "core", "pods/log"), attrs("get", "pods", "log"), True),
        (r("get", "apps", "*/scale"), attrs("get", "deployments", "scale", group="apps"), True),
        (r("get", "apps", "pods"), attrs("get", "pods"), False),
        (r("get", "core", "cm", "a"), attrs("get", "cm", name="a"), True),
        (r("get", "core", "cm", "a"), attrs("get", "cm", name="b"), False),
        (r("list", "core", "cm", "a"), attrs("list", "cm"), False),
    ],
)
def test_resource_rules(fields: dict[str, object], request_: Attributes, allowed: bool) -> None:
    assert rule_allows(rule(**fields), request_) is allowed


def test_non_resource_rules() -> None:
    healthz = rule(verbs=["get"], nonResourceURLs=["/healthz", "/api/*"])
    for path, allowed in (("/healthz", True), ("/api/v1", True), ("/version", False)):
        request = Attributes(ALICE, "get", path=path, resource_request=False)
        assert rule_allows(healthz, request) is allowed


def test_forbidden_wording_matches_kubernetes() -> None:
    assert forbidden_message(attrs("delete", "pods", name="web")) == (
        'pods "web" is forbidden: User "alice" cannot delete resource "pods" in API group "" '
        'in the namespace "default"'
    )
    nodes = Attributes(ALICE, "list", "", "nodes")
    assert forbidden_message(nodes) == (
        'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the '
        "cluster scope"
    )
    deploy = attrs("patch", "deployments", "scale", "web", group="apps")
    assert forbidden_message(deploy, "why").startswith('deployments.apps "web" is forbidden')
    assert forbidden_message(deploy, "why").endswith(
        'resource "deployments/scale" in API group "apps" in the namespace "default": why'
    )


NS = "/api/v1/namespaces/ns"
DEPLOYMENTS = "/apis/apps/v1/namespaces/ns/deployments"


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", f"{NS}/pods", {}, "list  pods  - ns -"),
        ("GET", f"{NS}/pods", {"watch": "1"}, "watch  pods  - ns -"),
        ("GET", "/api/v1/watch/namespaces/ns/pods", {}, "watch  pods - ns -"),
        ("GET", f"{NS}/pods/web/log", {}, "get  pods log ns web"),
        ("POST", f"{NS}/pods/web/exec", {}, "create  pods exec ns web"),
        ("DELETE", DEPLOYMENTS, {}, "deletecollection apps deployments - ns -"),
        ("PATCH", f"{DEPLOYMENTS}/d/scale", {}, "patch apps deployments scale ns d"),
        ("GET", "/api/v1/nodes/n1", {}, "get  nodes - - n1"),
        ("GET", NS, {}, "get  namespaces - ns ns"),
        ("PUT", f"{NS}/finalize", {}, "update  namespaces finalize ns ns"),
    ],
)
def test_http_requests_read_as_kubernetes_reads_them(
    method: str, path: str, query: dict[str, str], expected: tuple[str, ...]
) -> None:
    got = http_attributes(ALICE, method, path, query)
    fields = (got.verb, got.api_group, got.resource, got.subresource, got.namespace, got.name)
    verb, rest = expected.split(" ", 1)
    group = "" if rest.startswith(" ") else rest.split()[0]
    want = [verb, group, *[("" if v == "-" else v) for v in rest.split()[bool(group) :]]]
    assert list(fields) == want


def test_http_non_resource_paths() -> None:
    got = http_attributes(ALICE, "GET", "/healthz", {})
    assert (got.resource_request, got.verb, got.path) == (False, "get", "/healthz")
    assert not http_attributes(ALICE, "GET", "/apis/apps/v1", {}).resource_request


def test_rpc_attributes() -> None:
    status = api_pb2.PatchRequest(status=True, key=api_pb2.ObjectKey(kind="po", name="web"))
    got = object_attributes(ALICE, "Patch", status)
    assert (got.verb, got.resource, got.subresource, got.namespace) == (
        "patch", "pods", "status", "default"
    )  # fmt: skip
    listing = object_attributes(ALICE, "List", api_pb2.ListRequest(kind="deploy", namespace=""))
    assert (listing.verb, listing.api_group, listing.namespace) == ("list", "apps", "")
    node = object_attributes(
        ALICE, "Get", api_pb2.GetRequest(key=api_pb2.ObjectKey(kind="no", name="n", namespace="x"))
    )
    assert node.namespace == ""  # cluster-scoped whatever the request says
