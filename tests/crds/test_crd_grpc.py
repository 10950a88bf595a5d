"""CustomResourceDefinitions and custom objects through gRPC: the
definition's validation and conditions, the structural schema on every
write, subresources, selectors, watch, versions, deletion and restart."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.any_pb2 import Any as AnyProto
from shoal import errors, kinds
from shoal.api.v1 import api_pb2, api_pb2_grpc, apiextensions_pb2
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.manifest import from_dict, to_dict
from shoal.testing import start_server

from tests.crds.helpers import SCHEMA, crd, crd_manifest, crontab, unique_group
from tests.integration.helpers import collect, eventually


def causes(err: errors.APIError) -> dict[str, str]:
    return dict(getattr(err, "causes", []) or [])


async def test_crd_is_established_and_serves_its_kind(shoal_client: Client) -> None:
    group = unique_group()
    made = to_dict(await shoal_client.create(crd(group)))
    conditions = {c["type"]: c["status"] for c in made["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert made["status"]["storedVersions"] == ["v1"]
    assert made["status"]["acceptedNames"]["kind"] == "CronTab"
    assert "customresourcecleanup.apiextensions.k8s.io" in made["metadata"]["finalizers"]
    assert kinds.resolve(f"crontabs.{group}").kind == "CronTab"
    created = to_dict(await shoal_client.create(from_dict(crontab(group, "a", image="x"))))
    # defaults applied (replicas, mode), the object's JSON is the object's own
    assert created["spec"] == {
        "cronSpec": "* * * * */5", "image": "x", "replicas": 1, "mode": "Allow"
    }  # fmt: skip
    assert created["apiVersion"] == f"{group}/v1" and created["kind"] == "CronTab"
    got = to_dict(await shoal_client.get(f"ct.{group}", "a"))
    assert got["metadata"]["uid"] == created["metadata"]["uid"]


async def test_schema_refusals_name_the_field(shoal_client: Client) -> None:
    group = unique_group()
    await shoal_client.create(crd(group))
    bad = {
        "spec.replicas": {"replicas": 11},
        "spec.mode": {"mode": "Sometimes"},
        "spec.image": {"image": ""},
        "spec.since": {"since": "yesterday"},
        "spec.port": {"port": 1.5},
        "spec.tags[1]": {"tags": ["a", 2]},
        "spec.env.A": {"env": {"A": 1}},
    }
    for field, spec in bad.items():
        with pytest.raises(errors.InvalidError) as caught:
            await shoal_client.create(from_dict(crontab(group, "bad", **spec)))
        assert field in causes(caught.value), (field, caught.value)
    with pytest.raises(errors.InvalidError) as caught:
        await shoal_client.create(from_dict(crontab(group, "bad", cronSpec="nope")))
    assert "should match" in causes(caught.value)["spec.cronSpec"]
    missing = crontab(group, "bad")
    del missing["spec"]["cronSpec"]
    with pytest.raises(errors.InvalidError) as caught:
        await shoal_client.create(from_dict(missing))
    assert causes(caught.value) == {"spec.cronSpec": "Required value"}
    wrong_type = crontab(group, "bad")
    wrong_type["spec"]["replicas"] = "three"
    with pytest.raises(errors.InvalidError) as caught:
        await shoal_client.create(from_dict(wrong_type))
    assert "must be of type integer" in causes(caught.value)["spec.replicas"]
    assert (await shoal_client.list(f"crontabs.{group}")).items == []


async def test_pruning_preserve_unknown_and_int_or_string(shoal_client: Client) -> None:
    group = unique_group()
    await shoal_client.create(crd(group))
    manifest = crontab(group, "p", port="http", extra={"any": {"thing": [1]}}, unknown=True)
    manifest["topLevelJunk"] = {"a": 1}
    made = to_dict(await shoal_client.create(from_dict(manifest)))
    assert "topLevelJunk" not in made and "unknown" not in made["spec"]
    assert made["spec"]["extra"] == {"any": {"thing": [1]}}
    assert made["spec"]["port"] == "http"


async def test_status_subresource_separates_spec_and_status(shoal_client: Client) -> None:
    group = unique_group()
    await shoal_client.create(crd(group))
    manifest = crontab(group, "s")
    manifest["status"] = {"phase": "Ignored"}
    made = await shoal_client.create(from_dict(manifest))
    assert not made.HasField("status")  # status is not set on create
    data = to_dict(made)
    data["status"] = {"phase": "Running", "replicas": 2}
    data["spec"]["replicas"] = 5
    after_status = to_dict(await shoal_client.update_status(from_dict(data)))
    assert after_status["status"] == {"phase": "Running", "replicas": 2}
    assert after_status["spec"]["replicas"] == 1  # a status update ignores the rest
    after_status["spec"]["replicas"] = 3
    after_status["status"] = {"phase": "Changed"}
    updated = to_dict(await shoal_client.update(from_dict(after_status)))
    assert updated["spec"]["replicas"] == 3
    assert updated["status"] == {"phase": "Running", "replicas": 2}  # update ignores status
    assert updated["metadata"]["generation"] == 2
    patched = to_dict(
        await shoal_client.patch(
            f"crontabs.{group}", "s", {"status": {"phase": "Done"}},
            status=True,
        )
    )  # fmt: skip
    assert patched["status"]["phase"] == "Done" and patched["metadata"]["generation"] == 2
    pruned = to_dict(
        await shoal_client.patch(f"crontabs.{group}", "s", {"status": {"unknown": 1}}, status=True)
    )
    assert "unknown" not in pruned["status"]  # a status write is pruned too
    with pytest.raises(errors.InvalidError) as caught:
        await shoal_client.patch(
            f"crontabs.{group}", "s", {"status": {"replicas": "many"}}, status=True
        )
    assert "status.replicas" in causes(caught.value)


async def test_patch_validates_and_defaults(shoal_client: Client) -> None:
    group = unique_group()
    await shoal_client.create(crd(group))
    await shoal_client.create(from_dict(crontab(group, "m")))
    with pytest.raises(errors.InvalidError) as caught:
        await shoal_client.patch(f"crontabs.{group}", "m", {"spec": {"replicas": -1}})
    assert "spec.replicas" in causes(caught.value)
    patched = to_dict(await shoal_client.patch(f"crontabs.{group}", "m", {"spec": {"mode": None}}))
    assert patched["spec"]["mode"] == "Allow"  # defaulted again


async def test_selectors_list_and_watch(shoal_client: Client) -> None:
    group = unique_group()
    await shoal_client.create(crd(group))
    kind = f"crontabs.{group}"
    listed = await shoal_client.list(kind)
    events = shoal_client.watch(kind, resource_version=listed.resource_version)
    for name, tier in (("one", "a"), ("two", "b")):
        manifest = crontab(group, name)
        manifest["metadata"]["labels"] = {"tier": tier}
        await shoal_client.create(from_dict(manifest))
    got = await collect(events, 2)
    assert [(e.type, e.object.metadata.name) for e in got] == [("ADDED", "one"), ("ADDED", "two")]
    assert to_dict(got[0].object)["spec"]["cronSpec"] == "* * * * */5"
    by_label = await shoal_client.list(kind, label_selector="tier=b")
    assert [o.metadata.name for o in by_label.items] == ["two"]
    by_field = await shoal_client.list(kind, field_selector="metadata.name=one")
    assert [o.metadata.name for o in by_field.items] == ["one"]


async def test_cluster_scope_and_several_versions(shoal_client: Client) -> None:
    group = unique_group()
    versions = [
        {"name": "v1beta1", "served": True, "storage": False,
         "schema": {"openAPIV3Schema": SCHEMA}},
        {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": SCHEMA}},
    ]  # fmt: skip
    await shoal_client.create(crd(group, scope="Cluster", versions=versions))
    old = await shoal_client.create(from_dict(crontab(group, "c", version="v1beta1")))
    assert old.metadata.namespace == "" and old.api_version == f"{group}/v1beta1"
    assert (await shoal_client.get(f"crontabs.v1.{group}", "c")).api_version == f"{group}/v1"
    again = await shoal_client.get(f"crontabs.v1beta1.{group}", "c")
    assert again.api_version == f"{group}/v1beta1"
    assert kinds.resolve(f"crontabs.{group}").api_version == f"{group}/v1"  # storage first


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m["spec"].update(scope="Everywhere"), "spec.scope"),
        (lambda m: m["spec"].update(group="nodots"), "spec.group"),
        (lambda m: m["metadata"].update(name="wrong.example.com"), "metadata.name"),
        (lambda m: m["spec"]["names"].update(plural="Bad_Plural"), "spec.names.plural"),
        (lambda m: m["spec"]["names"].update(shortNames=["ok", "NO!"]), "spec.names.shortNames[1]"),
        (lambda m: m["spec"]["versions"][0].update(storage=False), "spec.versions"),
        (lambda m: m["spec"]["versions"][0].pop("schema"),
         "spec.versions[0].schema.openAPIV3Schema"),
        (lambda m: m["spec"]["versions"][0]["schema"]["openAPIV3Schema"].update(type="string"),
         "spec.versions[0].schema.openAPIV3Schema.type"),
        (lambda m: m["spec"]["versions"][0]["additionalPrinterColumns"][0].update(type="list"),
         "spec.versions[0].additionalPrinterColumns[0].type"),
        (lambda m: m["spec"]["versions"][0]["subresources"]["scale"].update(
            specReplicasPath=".status.x"), "spec.versions[0].subresources.scale.specReplicasPath"),
        (lambda m: m["spec"].update(conversion={"strategy": "Webhook"}),
         "spec.conversion.strategy"),
    ],
)  # fmt: skip
async def test_invalid_definitions_are_refused(shoal_client: Client, change, field) -> None:  # type: ignore[no-untyped-def]
    group = unique_group()
    manifest = crd_manifest(group)
    change(manifest)
    with pytest.raises(errors.InvalidError) as caught:
        await shoal_client.create(from_dict(manifest))
    assert field in causes(caught.value), caught.value
    assert not [k for k in kinds.all_kinds() if k.group == group]


async def test_name_clash_is_not_accepted(shoal_client: Client) -> None:
    group = unique_group()
    await shoal_client.create(crd(group))
    clash = crd(group, kind="Other", plural="others", short_names=("ct",))  # "ct" is taken
    made = to_dict(await shoal_client.create(clash))
    conditions = {c["type"]: (c["status"], c.get("reason")) for c in made["status"]["conditions"]}
    assert conditions["NamesAccepted"] == ("False", "NameConflict")
    assert conditions["Established"][0] == "False"
    with pytest.raises(kinds.UnknownKindError):
        kinds.resolve(f"others.{group}")
    # the same names in another group are no clash, as in Kubernetes
    other = to_dict(await shoal_client.create(crd(unique_group())))
    assert {c["type"]: c["status"] for c in other["status"]["conditions"]}["Established"] == "True"


async def test_definition_update_keeps_names_and_refreshes_schema(shoal_client: Client) -> None:
    group = unique_group()
    current = to_dict(await shoal_client.create(crd(group)))
    current["spec"]["names"]["kind"] = "Other"
    with pytest.raises(errors.InvalidError) as caught:
        await shoal_client.update(from_dict(current))
    assert "spec.names.kind" in causes(caught.value)
    current = to_dict(await shoal_client.get("crd", f"crontabs.{group}"))
    schema = current["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["spec"]["properties"]["replicas"]["maximum"] = 3
    await shoal_client.update(from_dict(current))
    with pytest.raises(errors.InvalidError):
        await shoal_client.create(from_dict(crontab(group, "x", replicas=4)))
    # a subresource taken away and a version added take effect at once
    current = to_dict(await shoal_client.get("crd", f"crontabs.{group}"))
    del current["spec"]["versions"][0]["subresources"]["status"]
    current["spec"]["versions"].append({**current["spec"]["versions"][0], "name": "v2",
                                        "storage": False})  # fmt: skip
    await shoal_client.update(from_dict(current))
    assert not kinds.resolve(f"crontabs.{group}").has_status
    assert kinds.resolve(f"crontabs.{group}").api_version == f"{group}/v1"
    assert kinds.resolve(f"crontabs.v2.{group}").api_version == f"{group}/v2"


async def test_deleting_definition_deletes_objects(shoal_client: Client) -> None:
    group = unique_group()
    await shoal_client.create(crd(group))
    held = crontab(group, "held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await shoal_client.create(from_dict(held))
    await shoal_client.create(from_dict(crontab(group, "free")))
    await shoal_client.delete("crd", f"crontabs.{group}")
    kind = f"crontabs.{group}"

    async def only_held_left() -> bool:
        names = [o.metadata.name for o in (await shoal_client.list(kind)).items]
        return names == ["held"]

    await eventually(only_held_left)
    terminating = to_dict(await shoal_client.get("crd", f"crontabs.{group}"))
    assert any(c["type"] == "Terminating" for c in terminating["status"]["conditions"])
    with pytest.raises(errors.ForbiddenError):
        await shoal_client.create(from_dict(crontab(group, "late")))
    await shoal_client.patch(kind, "held", {"metadata": {"finalizers": None}})

    async def gone() -> bool:
        try:
            await shoal_client.get("crd", f"crontabs.{group}")
        except errors.NotFoundError:
            return True
        return False

    await eventually(gone)

    def unregistered() -> bool:  # the kind leaves the registry just after the object
        try:
            kinds.resolve(kind)
        except kinds.UnknownKindError:
            return True
        return False

    await eventually(unregistered)


async def test_restart_registers_stored_definitions(tmp_path: Path) -> None:
    group = unique_group()
    server = await start_server(tmp_path)
    client = Client(f"127.0.0.1:{server.port}")
    try:
        await client.create(crd(group))
        await client.create(from_dict(crontab(group, "kept")))
    finally:
        await client.close()
        await server.stop(grace=0)
    for kind in [k for k in kinds.all_kinds() if k.group == group]:
        kinds.unregister(kind)  # as a fresh process would be
    server = await start_server(tmp_path)
    client = Client(f"127.0.0.1:{server.port}")
    try:
        assert (await client.get(f"crontabs.{group}", "kept")).metadata.name == "kept"
    finally:
        await client.close()
        await server.stop(grace=0)


async def test_grpc_codes(shoal_client: Client) -> None:
    group = unique_group()
    await shoal_client.create(crd(group))
    with pytest.raises(errors.InvalidError) as caught:
        await shoal_client.create(from_dict(crontab(group, "x", replicas=99)))
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_raw_grpc_refusals(shoal_server: APIServer) -> None:
    """What a client in another language may send: an unknown custom kind,
    broken bytes, a schema violation: INVALID_ARGUMENT, nothing stored."""
    group = unique_group()
    custom = "type.googleapis.com/shoal.v1.CustomObject"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{shoal_server.port}") as channel:
        stub = api_pb2_grpc.ObjectsStub(channel)

        async def create(type_url: str, value: bytes) -> grpc.aio.AioRpcError:
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await stub.Create(
                    api_pb2.CreateRequest(object=AnyProto(type_url=type_url, value=value))
                )
            return failed.value

        unknown = apiextensions_pb2.CustomObject(api_version=f"{group}/v1", kind="CronTab")
        unknown.metadata.name = "x"
        err = await create(custom, unknown.SerializeToString())
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "CronTab" in err.details()
        err = await create(custom, b"\xff\xff\xff")
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "malformed CustomObject" in err.details()
        crd_any = AnyProto()
        crd_any.Pack(crd(group))
        await stub.Create(api_pb2.CreateRequest(object=crd_any))
        bad = from_dict(crontab(group, "x", replicas="many"))
        err = await create(custom, bad.SerializeToString())
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "spec.replicas" in err.details()
        listed = await stub.List(api_pb2.ListRequest(kind=f"crontabs.{group}"))
        assert list(listed.items) == []
