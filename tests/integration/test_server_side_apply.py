"""Server-side apply and managedFields through gRPC (``Patch`` with
patch_type "apply"): the same registry path the gateway's
``application/apply-patch+yaml`` takes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from shoal import errors
from shoal.client import Client
from shoal.manifest import to_dict

from tests.integration.helpers import obj


def deployment(image: str = "nginx:1.25", replicas: int | None = 2, **extra: Any) -> dict:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": image, **extra}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": spec,
    }


def managers(o: Any) -> dict[tuple[str, str], dict]:
    entries = to_dict(o)["metadata"].get("managedFields", [])
    return {(e["manager"], e["operation"]): e for e in entries}


async def test_apply_creates_then_updates(shoal_client: Client) -> None:
    created = await shoal_client.apply(deployment(), field_manager="deployer")
    assert created.spec.replicas == 2 and created.metadata.generation == 1
    entry = managers(created)[("deployer", "Apply")]
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1"
    spec = entry["fieldsV1"]["f:spec"]
    containers = spec["f:template"]["f:spec"]["f:containers"]
    assert containers == {'k:{"name":"nginx"}': {".": {}, "f:image": {}, "f:name": {}}}
    assert entry["fieldsV1"]["f:metadata"] == {"f:labels": {"f:app": {}}}
    assert "f:strategy" not in spec  # defaults are nobody's

    updated = await shoal_client.apply(deployment(image="nginx:1.27"), field_manager="deployer")
    assert updated.spec.template.spec.containers[0].image == "nginx:1.27"
    assert updated.metadata.generation == 2
    assert list(managers(updated)) == [("deployer", "Apply")]


async def test_reapplying_the_same_config_writes_nothing(shoal_client: Client) -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    config["data"] = {"a": "1"}
    first = await shoal_client.apply(config, field_manager="deployer")
    again = await shoal_client.apply(config, field_manager="deployer")
    assert again.metadata.resource_version == first.metadata.resource_version
    assert again == first


async def test_conflict_with_another_manager_and_force(shoal_client: Client) -> None:
    await shoal_client.apply(deployment(), field_manager="deployer")
    await shoal_client.patch("deploy", "web", {"spec": {"replicas": 5}}, field_manager="scaler")
    with pytest.raises(errors.ConflictError) as caught:
        await shoal_client.apply(deployment(replicas=3), field_manager="deployer")
    assert str(caught.value) == (
        'Apply failed with 1 conflict: conflict with "scaler" using apps/v1: .spec.replicas'
    )
    assert caught.value.causes == [(".spec.replicas", 'conflict with "scaler" using apps/v1')]
    # the same value is no conflict: both own it
    same = await shoal_client.apply(deployment(replicas=5), field_manager="deployer")
    assert ("scaler", "Update") in managers(same)
    forced = await shoal_client.apply(deployment(replicas=3), field_manager="deployer", force=True)
    assert forced.spec.replicas == 3
    assert ("scaler", "Update") not in managers(forced)  # it owned only replicas


async def test_fields_dropped_from_the_config_are_removed(shoal_client: Client) -> None:
    config = deployment()
    config["metadata"]["labels"]["tier"] = "front"
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    await shoal_client.apply(deployment(env=env), field_manager="deployer")
    applied = await shoal_client.apply(deployment(env=env[:1]), field_manager="deployer")
    assert [e.name for e in applied.spec.template.spec.containers[0].env] == ["A"]
    # a field another manager also owns stays
    await shoal_client.patch(
        "deploy", "web", {"metadata": {"labels": {"team": "x"}}}, field_manager="labeller"
    )
    dropped = deployment(env=env[:1])
    dropped["metadata"]["labels"] = {"app": "web", "team": "x"}
    await shoal_client.apply(dropped, field_manager="deployer")
    dropped["metadata"]["labels"] = {"app": "web"}
    kept = await shoal_client.apply(dropped, field_manager="deployer")
    assert dict(kept.metadata.labels) == {"app": "web", "team": "x"}
    gone = await shoal_client.apply(deployment(replicas=None), field_manager="deployer")
    assert gone.spec.replicas == 1  # removed, so defaulted again
    assert not gone.spec.template.spec.containers[0].env


async def test_every_write_records_its_manager(shoal_client: Client) -> None:
    created = await shoal_client.create(obj(deployment()), field_manager="maker")
    fields = managers(created)[("maker", "Update")]["fieldsV1"]
    assert "f:replicas" in fields["f:spec"] and "f:strategy" in fields["f:spec"]
    created.spec.template.spec.containers[0].image = "nginx:1.27"
    updated = await shoal_client.update(created, field_manager="editor")
    editor = managers(updated)[("editor", "Update")]["fieldsV1"]
    container = editor["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert container == {"f:image": {}}
    maker = managers(updated)[("maker", "Update")]["fieldsV1"]
    maker_container = maker["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert "f:image" not in maker_container['k:{"name":"nginx"}']
    # a write without a field manager is the client's (its user agent)
    unnamed = await shoal_client.patch("deploy", "web", {"spec": {"paused": True}})
    assert ("shoal", "Update") in managers(unnamed)


async def test_apply_needs_a_field_manager(shoal_client: Client) -> None:
    with pytest.raises(errors.InvalidError, match="fieldManager: Required value"):
        await shoal_client.apply(deployment(), field_manager="")


async def test_apply_checks_the_configuration(shoal_client: Client) -> None:
    wrong = deployment()
    wrong["apiVersion"] = "apps/v2"
    with pytest.raises(errors.BadRequestError, match="does not match the expected API version"):
        await shoal_client.apply(wrong, field_manager="x", kind="deployments", name="web")
    with pytest.raises(errors.BadRequestError, match="does not match the name on the URL"):
        await shoal_client.apply(deployment(), field_manager="x", kind="deployments", name="b")
    with pytest.raises(errors.BadRequestError):
        await shoal_client.apply(b"kind: [", field_manager="x", kind="deployments", name="web")


async def test_kubectl_takes_over_its_client_side_apply(shoal_client: Client) -> None:
    """kubectl's server-side apply may change what its client-side apply
    set (the last-applied-configuration annotation lists it); another
    manager may not; and the annotation follows the applied config."""
    last = "kubectl.kubernetes.io/last-applied-configuration"
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    config["data"] = {"a": "1"}
    csa = obj({**config, "metadata": {"name": "c", "annotations": {last: json.dumps(config)}}})
    await shoal_client.create(csa, field_manager="kubectl-client-side-apply")
    changed = {**config, "data": {"a": "2"}}
    with pytest.raises(errors.ConflictError, match='"kubectl-client-side-apply"'):
        await shoal_client.apply(changed, field_manager="someone")
    applied = await shoal_client.apply(changed, field_manager="kubectl")
    assert applied.data["a"] == "2"
    assert json.loads(applied.metadata.annotations[last]) == changed
    assert ("kubectl", "Apply") in managers(applied)
