"""``kubectl apply --server-side`` through the gateway: PATCH with
``application/apply-patch+yaml``, field managers, conflicts and
``--force-conflicts``, and managedFields as kubectl shows them."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.gateway.conftest import GatewayServer

pytestmark = pytest.mark.usefixtures("needs_kubectl")

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
        },
    },
}


# another manager's partial configuration: only the field it cares about
REPLICAS_ONLY = yaml.safe_dump(
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
     "spec": {"replicas": 5}}
)  # fmt: skip


def manifest(image: str = "nginx:1.25", replicas: int = 2, tier: bool = True) -> str:
    doc = json.loads(json.dumps(DEPLOYMENT))
    doc["spec"]["template"]["spec"]["containers"][0]["image"] = image
    doc["spec"]["replicas"] = replicas
    if not tier:
        del doc["metadata"]["labels"]["tier"]
    return yaml.safe_dump(doc)


async def test_server_side_apply_with_kubectl(gateway_server: GatewayServer) -> None:
    k = gateway_server.kubectl
    created = await k("apply", "--server-side", "-f", "-", input=manifest())
    assert created.code == 0, created.err
    assert "deployment.apps/web serverside-applied" in created.out
    updated = await k("apply", "--server-side", "-f", "-", input=manifest(image="nginx:1.27"))
    assert updated.code == 0, updated.err
    got = yaml.safe_load((await k("get", "deploy", "web", "-o", "yaml")).out)
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert "managedFields" not in got["metadata"]  # kubectl hides them by default

    # another manager sets replicas: re-applying a different value conflicts
    other = await k(
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        "-",
        input=REPLICAS_ONLY,
    )
    assert other.code != 0
    assert 'conflict with "kubectl"' in other.err and ".spec.replicas" in other.err
    forced = await k(
        "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-",
        input=REPLICAS_ONLY,
    )  # fmt: skip
    assert forced.code == 0, forced.err
    again = await k("apply", "--server-side", "-f", "-", input=manifest(image="nginx:1.27"))
    assert again.code != 0
    assert 'Apply failed with 1 conflict: conflict with "other": .spec.replicas' in again.err, (
        again.err
    )

    # a field dropped from the applied file goes
    dropped = await k(
        "apply", "--server-side", "--force-conflicts", "-f", "-",
        input=manifest(image="nginx:1.27", tier=False),
    )  # fmt: skip
    assert dropped.code == 0, dropped.err
    shown = await k("get", "deploy", "web", "-o", "yaml", "--show-managed-fields")
    got = yaml.safe_load(shown.out)
    assert got["metadata"]["labels"] == {"app": "web"}
    assert got["spec"]["replicas"] == 2
    entries = {e["manager"]: e for e in got["metadata"]["managedFields"]}
    assert entries["kubectl"]["operation"] == "Apply"
    assert entries["kubectl"]["fieldsType"] == "FieldsV1"
    containers = entries["kubectl"]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert containers == {'k:{"name":"nginx"}': {".": {}, "f:image": {}, "f:name": {}}}
    assert "other" not in entries  # it lost its only field to the forced apply


async def test_scale_takes_replicas_from_the_applier(gateway_server: GatewayServer) -> None:
    k = gateway_server.kubectl
    assert (await k("apply", "--server-side", "-f", "-", input=manifest())).code == 0
    scaled = await k("scale", "deploy/web", "--replicas=4")
    assert scaled.code == 0, scaled.err
    conflict = await k("apply", "--server-side", "-f", "-", input=manifest())
    assert conflict.code != 0
    assert "conflict with" in conflict.err and ".spec.replicas" in conflict.err


async def test_client_side_writes_are_recorded(gateway_server: GatewayServer) -> None:
    k = gateway_server.kubectl
    assert (await k("apply", "-f", "-", input=manifest())).code == 0
    assert (await k("label", "deploy", "web", "team=a")).code == 0
    got = yaml.safe_load(
        (await k("get", "deploy", "web", "-o", "json", "--show-managed-fields")).out
    )
    entries = {e["manager"]: e for e in got["metadata"]["managedFields"]}
    assert entries["kubectl-client-side-apply"]["operation"] == "Update"
    assert "f:team" in entries["kubectl-label"]["fieldsV1"]["f:metadata"]["f:labels"]


async def test_server_side_apply_after_client_side_apply(gateway_server: GatewayServer) -> None:
    """kubectl moves the fields of its client-side apply to its server-side
    manager first (a JSON patch of managedFields), so the switch conflicts
    with nobody."""
    k = gateway_server.kubectl
    assert (await k("apply", "-f", "-", input=manifest())).code == 0
    switched = await k("apply", "--server-side", "-f", "-", input=manifest(image="nginx:1.27"))
    assert switched.code == 0, switched.err
    shown = await k("get", "deploy", "web", "-o", "json", "--show-managed-fields")
    got = json.loads(shown.out)
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    managers = {(e["manager"], e["operation"]) for e in got["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers
    assert ("kubectl-client-side-apply", "Update") not in managers
