"""Bad topologySpreadConstraints are refused with Kubernetes' field errors,
through gRPC and through the REST gateway alike, and nothing is created."""

from __future__ import annotations

from typing import Any

import pytest
from shoal import errors
from shoal.client import Client

from tests.gateway.conftest import GatewayServer
from tests.integration.helpers import pod

C = "spec.topologySpreadConstraints[0]"

CASES = [
    ({"maxSkew": 0}, f"{C}.maxSkew", "Invalid value: 0: must be greater than zero"),
    ({"topologyKey": ""}, f"{C}.topologyKey", "Required value: can not be empty"),
    (
        {"whenUnsatisfiable": "Sometimes"},
        f"{C}.whenUnsatisfiable",
        'Unsupported value: "Sometimes": supported values: "DoNotSchedule", "ScheduleAnyway"',
    ),
    (
        {"minDomains": 2, "whenUnsatisfiable": "ScheduleAnyway"},
        f"{C}.minDomains",
        "Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, "
        "not ScheduleAnyway",
    ),
    ({"minDomains": 0}, f"{C}.minDomains", "Invalid value: 0: must be greater than zero"),
    (
        {"nodeAffinityPolicy": "Maybe"},
        f"{C}.nodeAffinityPolicy",
        'Unsupported value: "Maybe": supported values: "Honor", "Ignore"',
    ),
    (
        {"matchLabelKeys": ["app"]},
        f"{C}.matchLabelKeys[0]",
        'Invalid value: "app": exists in both matchLabelKeys and labelSelector',
    ),
]


def constraint(**changes: Any) -> dict[str, Any]:
    return {
        "maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}},
        **changes,
    }


def manifest(**changes: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "containers": [{"name": "main", "image": "busybox"}],
            "topologySpreadConstraints": [constraint(**changes)],
        },
    }


@pytest.mark.parametrize(("changes", "field", "message"), CASES)
async def test_refused_through_grpc(
    shoal_client: Client, changes: dict[str, Any], field: str, message: str
) -> None:
    body = manifest(**changes)["spec"]
    with pytest.raises(errors.InvalidError) as err:
        await shoal_client.create(pod("web", labels={"app": "web"}, **{
            "topologySpreadConstraints": body["topologySpreadConstraints"]
        }))  # fmt: skip
    assert f"{field}: {message}" in str(err.value)
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("pods", "web")


@pytest.mark.parametrize(("changes", "field", "message"), CASES)
async def test_refused_through_the_gateway(
    gateway_server: GatewayServer, changes: dict[str, Any], field: str, message: str
) -> None:
    path = "/api/v1/namespaces/default/pods"
    async with gateway_server.http.post(path, json=manifest(**changes)) as response:
        status = await response.json()
        assert (response.status, status["reason"]) == (422, "Invalid")
    assert {"field": field, "message": message} in [
        {k: c[k] for k in ("field", "message")} for c in status["details"]["causes"]
    ]
    async with gateway_server.http.get(f"{path}/web") as response:
        assert response.status == 404


async def test_a_valid_constraint_is_kept(shoal_client: Client) -> None:
    spec = manifest(minDomains=3, matchLabelKeys=["rev"])["spec"]
    created = await shoal_client.create(
        pod(
            "web",
            labels={"app": "web"},
            topologySpreadConstraints=spec["topologySpreadConstraints"],
        )
    )
    kept = created.spec.topology_spread_constraints[0]
    assert (kept.max_skew, kept.min_domains, list(kept.match_label_keys)) == (1, 3, ["rev"])
