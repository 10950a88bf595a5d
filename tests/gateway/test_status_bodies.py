"""Error bodies as kube-apiserver writes them: each reason's Status with the
details (name, group, kind, causes) its constructor in
k8s.io/apimachinery/pkg/api/errors sets, through HTTP and through the
official Python client."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest
from shoal import errors
from shoal.manifest import from_dict

from tests.gateway.conftest import GatewayServer
from tests.gateway.test_http import DEPLOYMENT, DEPLOYMENTS, POD, PODS, call
from tests.requirements import require_module


def _failure(code: int, reason: str, message: str, details: dict[str, Any] | None) -> dict:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


async def test_already_exists_names_the_object(gateway_server: GatewayServer) -> None:
    await call(gateway_server, "POST", DEPLOYMENTS, DEPLOYMENT)
    # The name comes from the body: the path of a create names no object.
    code, status = await call(gateway_server, "POST", DEPLOYMENTS, DEPLOYMENT)
    assert (code, status) == (
        409,
        _failure(
            409,
            "AlreadyExists",
            'deployments.apps "web" already exists',
            {"name": "web", "group": "apps", "kind": "deployments"},
        ),
    )


async def test_conflict_names_the_object(gateway_server: GatewayServer) -> None:
    _, created = await call(gateway_server, "POST", DEPLOYMENTS, DEPLOYMENT)
    changed = copy.deepcopy(created)
    changed["spec"]["replicas"] = 3
    await call(gateway_server, "PUT", f"{DEPLOYMENTS}/web", changed)
    code, status = await call(gateway_server, "PUT", f"{DEPLOYMENTS}/web", changed)  # stale
    assert code == 409 and status["reason"] == "Conflict"
    assert status["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    assert status["message"].startswith('Operation cannot be fulfilled on deployments.apps "web"')
    # The details come with the error over gRPC, not from the gateway's path.
    stale = from_dict(created)
    with pytest.raises(errors.ConflictError) as caught:
        await gateway_server.client.update(stale)
    assert caught.value.details() == {"name": "web", "group": "apps", "kind": "deployments"}


async def test_not_found_names_the_object(gateway_server: GatewayServer) -> None:
    code, status = await call(gateway_server, "GET", f"{DEPLOYMENTS}/missing")
    assert (code, status) == (
        404,
        _failure(
            404,
            "NotFound",
            'deployments.apps "missing" not found',
            {"name": "missing", "group": "apps", "kind": "deployments"},
        ),
    )
    # A path no resource matches: Kubernetes' generic 404 with empty details.
    code, status = await call(gateway_server, "GET", "/api/v1/namespaces/default/widgets")
    assert (code, status["details"]) == (404, {})


async def test_invalid_has_kind_and_typed_causes(gateway_server: GatewayServer) -> None:
    bad = copy.deepcopy(DEPLOYMENT)
    bad["spec"]["replicas"] = -1
    del bad["spec"]["template"]["spec"]["containers"][0]["image"]
    code, status = await call(gateway_server, "POST", DEPLOYMENTS, bad)
    assert code == 422 and status["reason"] == "Invalid"
    details = status["details"]
    assert (details["name"], details["group"], details["kind"]) == ("web", "apps", "Deployment")
    causes = {c["field"]: c for c in details["causes"]}
    assert causes["spec.replicas"]["reason"] == "FieldValueInvalid"
    assert causes["spec.replicas"]["message"].startswith("Invalid value: -1")
    image = causes["spec.template.spec.containers[0].image"]
    assert (image["reason"], image["message"]) == ("FieldValueRequired", "Required value")
    assert status["message"] == (
        'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater '
        "than or equal to 0, spec.template.spec.containers[0].image: Required value]"
    )


async def test_forbidden_names_the_object(gateway_server: GatewayServer) -> None:
    code, status = await call(gateway_server, "DELETE", "/api/v1/namespaces/default")
    assert code == 403 and status["reason"] == "Forbidden"
    assert status["details"] == {"name": "default", "kind": "namespaces"}
    # No namespace controller here: a deleted namespace stays Terminating, and
    # a create in it is forbidden, naming the object from the body.
    await call(gateway_server, "POST", "/api/v1/namespaces", {"metadata": {"name": "gone"}})
    await call(gateway_server, "DELETE", "/api/v1/namespaces/gone")
    code, status = await call(gateway_server, "POST", "/api/v1/namespaces/gone/pods", POD)
    assert code == 403 and status["details"] == {"name": "web", "kind": "pods"}
    code, status = await call(
        gateway_server, "POST", "/apis/apps/v1/namespaces/gone/deployments", DEPLOYMENT
    )
    assert code == 403
    assert status["details"] == {"name": "web", "group": "apps", "kind": "deployments"}


async def test_bad_request_and_method_not_allowed(gateway_server: GatewayServer) -> None:
    json_type = {"Content-Type": "application/json"}
    code, status = await call(gateway_server, "POST", PODS, b"{not json", headers=json_type)
    assert code == 400 and status["reason"] == "BadRequest" and "details" not in status
    code, status = await call(gateway_server, "PUT", PODS, POD)
    assert (code, status) == (
        405,
        _failure(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            {},
        ),
    )


kubernetes = require_module("kubernetes")


def _client_errors(url: str) -> list[tuple[int, dict[str, Any]]]:
    m = kubernetes.client
    configuration = m.Configuration()
    configuration.host = url
    found = []
    with m.ApiClient(configuration) as api:
        core = m.CoreV1Api(api)
        pod = m.V1Pod(
            metadata=m.V1ObjectMeta(name="py"),
            spec=m.V1PodSpec(containers=[m.V1Container(name="main", image="nginx")]),
        )
        core.create_namespaced_pod("default", pod)
        bad = m.V1Pod(
            metadata=m.V1ObjectMeta(name="bad"),
            spec=m.V1PodSpec(containers=[m.V1Container(name="main", image="")]),
        )
        for call_it in (
            lambda: core.create_namespaced_pod("default", pod),
            lambda: core.create_namespaced_pod("default", bad),
            lambda: core.read_namespaced_pod("nope", "default"),
        ):
            try:
                call_it()
            except m.ApiException as err:
                found.append((err.status, json.loads(err.body)))
    return found


async def test_python_client_sees_the_details(gateway_server: GatewayServer) -> None:
    exists, invalid, missing = await asyncio.to_thread(_client_errors, gateway_server.url)
    assert exists == (409, _failure(409, "AlreadyExists", 'pods "py" already exists',
                                    {"name": "py", "kind": "pods"}))  # fmt: skip
    code, body = invalid
    assert code == 422 and body["details"]["kind"] == "Pod" and body["details"]["name"] == "bad"
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value",
            "field": "spec.containers[0].image",
        }
    ]
    assert missing[1]["details"] == {"name": "nope", "kind": "pods"}
