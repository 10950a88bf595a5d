"""The object API through gRPC: create, get, list, update, patch, delete,
with the server's defaults, validation and errors."""

from __future__ import annotations

import grpc
import pytest
from shoal import errors
from shoal.client import Client

from tests.integration.helpers import obj, pod


async def test_create_sets_server_fields_and_defaults(shoal_client: Client) -> None:
    created = await shoal_client.create(pod("web", image="nginx"))
    m = created.metadata
    assert m.namespace == "default"
    assert m.uid and m.creation_timestamp.seconds > 0 and m.generation == 1
    assert int(m.resource_version) > 0
    spec = created.spec
    assert spec.restart_policy == "Always"
    assert spec.containers[0].image_pull_policy == "Always"  # no tag: latest
    assert spec.termination_grace_period_seconds == 30
    assert created.status.phase == "Pending"
    tolerations = {(t.key, t.effect, t.toleration_seconds) for t in spec.tolerations}
    assert tolerations == {
        ("node.kubernetes.io/not-ready", "NoExecute", 300),
        ("node.kubernetes.io/unreachable", "NoExecute", 300),
    }
    tagged = await shoal_client.create(pod("tagged", image="busybox:1.36"))
    assert tagged.spec.containers[0].image_pull_policy == "IfNotPresent"
    assert await shoal_client.get("po", "web") == created


async def test_deployment_defaults(shoal_client: Client) -> None:
    deploy = await shoal_client.create(
        obj(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
                    },
                },
            }
        )
    )
    spec = deploy.spec
    assert spec.replicas == 1
    assert spec.strategy.type == "RollingUpdate"
    assert spec.strategy.rolling_update.max_surge.string_value == "25%"
    assert spec.strategy.rolling_update.max_unavailable.string_value == "25%"
    assert spec.revision_history_limit == 10
    assert spec.template.spec.restart_policy == "Always"


async def test_errors_have_codes_and_kubectl_wording(shoal_client: Client) -> None:
    await shoal_client.create(pod("web"))
    with pytest.raises(errors.AlreadyExistsError, match='pods "web" already exists'):
        await shoal_client.create(pod("web"))
    with pytest.raises(errors.NotFoundError, match='pods "nope" not found'):
        await shoal_client.get("pods", "nope")
    with pytest.raises(errors.NotFoundError, match='resource type "podz"'):
        await shoal_client.get("podz", "web")
    with pytest.raises(errors.InvalidError) as invalid:
        await shoal_client.create(
            obj(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "Bad_Name"},
                    "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 70000}]}]},
                }
            )
        )
    paths = {path for path, _ in invalid.value.causes}
    message = str(invalid.value)
    assert "metadata.name" in message
    assert "spec.containers[0].image: Required value" in message
    assert "spec.containers[0].ports[0].containerPort" in message
    assert paths == {
        "metadata.name",
        "spec.containers[0].image",
        "spec.containers[0].ports[0].containerPort",
    }
    with pytest.raises(errors.BadRequestError, match="unable to parse requirement"):
        await shoal_client.list("pods", label_selector="app in web")
    with pytest.raises(errors.BadRequestError, match=r"field label not supported: spec\.foo"):
        await shoal_client.list("pods", field_selector="spec.foo=bar")


async def test_errors_carry_the_standard_rich_status(shoal_client: Client) -> None:
    """grpc-status-details-bin: a google.rpc.Status with ErrorInfo (the
    Kubernetes reason) and BadRequest (the field causes), which gRPC
    libraries in other languages decode without knowing shoal."""
    from google.rpc import error_details_pb2, status_pb2
    from shoal.api.v1 import api_pb2

    await shoal_client.create(pod("web"))
    bad = obj({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Name"}})
    for request, code, reason, named in (
        (pod("web"), grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS", ("web", "pods")),
        (bad, grpc.StatusCode.INVALID_ARGUMENT, "INVALID", ("Bad_Name", "Pod")),
    ):
        message = api_pb2.CreateRequest()
        message.object.Pack(request)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await shoal_client._objects.Create(message)
        details = dict(caught.value.trailing_metadata() or ())["grpc-status-details-bin"]
        status = status_pb2.Status.FromString(details)
        assert (status.code, status.message) == (code.value[0], caught.value.details())
        info = error_details_pb2.ErrorInfo()
        assert status.details[0].Unpack(info)
        assert (info.reason, info.domain) == (reason, "shoal.io")
        # Kubernetes' StatusDetails: the object's name and (resource or) kind.
        assert (info.metadata["name"], info.metadata["kind"]) == named
    violations = error_details_pb2.BadRequest()
    assert status.details[1].Unpack(violations)
    assert {v.field for v in violations.field_violations} >= {"metadata.name"}


async def test_stale_update_conflicts_and_changes_nothing(shoal_client: Client) -> None:
    first = await shoal_client.create(pod("web", labels={"v": "1"}))
    second = type(first)()
    second.CopyFrom(first)
    first.metadata.labels["v"] = "2"
    updated = await shoal_client.update(first)
    assert int(updated.metadata.resource_version) > int(first.metadata.resource_version)
    second.metadata.labels["v"] = "3"
    with pytest.raises(errors.ConflictError, match="the object has been modified"):
        await shoal_client.update(second)
    assert (await shoal_client.get("pods", "web")).metadata.labels["v"] == "2"


async def test_generation_counts_spec_changes_only(shoal_client: Client) -> None:
    rs = await shoal_client.create(
        obj(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": "web"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "c", "image": "nginx:1"}]},
                    },
                },
            }
        )
    )
    relabelled = await shoal_client.patch("rs", "web", {"metadata": {"labels": {"x": "y"}}})
    assert relabelled.metadata.generation == 1
    scaled = await shoal_client.patch("rs", "web", {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2 and scaled.spec.replicas == 3
    assert scaled.metadata.uid == rs.metadata.uid
    assert scaled.metadata.creation_timestamp == rs.metadata.creation_timestamp


async def test_status_is_a_subresource(shoal_client: Client) -> None:
    created = await shoal_client.create(pod("web"))
    created.status.phase = "Running"
    created.spec.containers[0].image = "busybox:1.37"
    updated = await shoal_client.update(created)
    assert updated.status.phase == "Pending"  # update ignores status
    assert updated.spec.containers[0].image == "busybox:1.37"
    updated.status.phase = "Running"
    updated.metadata.labels["ignored"] = "yes"
    status = await shoal_client.update_status(updated)
    assert status.status.phase == "Running"
    assert "ignored" not in status.metadata.labels  # update_status ignores the rest
    patched = await shoal_client.patch(
        "pods", "web", {"status": {"podIP": "10.0.0.5"}}, status=True
    )
    assert patched.status.pod_ip == "10.0.0.5" and patched.status.phase == "Running"


async def test_pod_spec_is_immutable_but_binding_and_image(shoal_client: Client) -> None:
    await shoal_client.create(pod("web"))
    bound = await shoal_client.patch("pods", "web", {"spec": {"nodeName": "node-1"}})
    assert bound.spec.node_name == "node-1"
    with pytest.raises(errors.InvalidError, match=r"spec\.nodeName"):
        await shoal_client.patch("pods", "web", {"spec": {"nodeName": "node-2"}})
    with pytest.raises(errors.InvalidError, match="pod updates may not change fields"):
        await shoal_client.patch("pods", "web", {"spec": {"restartPolicy": "Never"}})
    # a second bind with the resourceVersion the scheduler read fails: never bound twice
    stale = bound.metadata.resource_version
    await shoal_client.patch("pods", "web", {"metadata": {"labels": {"a": "b"}}})
    with pytest.raises(errors.ConflictError):
        await shoal_client.patch("pods", "web", {"metadata": {"resourceVersion": stale}})


async def test_merge_patch_removes_with_null_and_rejects_bad_json(shoal_client: Client) -> None:
    await shoal_client.create(pod("web", labels={"a": "1", "b": "2"}))
    patched = await shoal_client.patch("pods", "web", {"metadata": {"labels": {"a": None}}})
    assert dict(patched.metadata.labels) == {"b": "2"}
    with pytest.raises(errors.InvalidError, match="unknown field"):
        await shoal_client.patch("pods", "web", {"spec": {"contaners": []}})
    assert dict((await shoal_client.get("pods", "web")).metadata.labels) == {"b": "2"}


async def test_generate_name(shoal_client: Client) -> None:
    template = obj(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"generateName": "cfg-"},
            "data": {"k": "v"},
        }
    )
    names = {(await shoal_client.create(template)).metadata.name for _ in range(5)}
    assert len(names) == 5 and all(n.startswith("cfg-") and len(n) == 9 for n in names)


async def test_secret_string_data_lands_in_data(shoal_client: Client) -> None:
    secret = await shoal_client.create(
        obj(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s"},
                "stringData": {"password": "hunter2"},
                "data": {"user": "YWRtaW4="},
            }
        )
    )
    assert dict(secret.data) == {"password": b"hunter2", "user": b"admin"}
    assert not secret.string_data and secret.type == "Opaque"


async def test_dry_run_stores_nothing(shoal_client: Client) -> None:
    answer = await shoal_client.create(pod("web"), dry_run=True)
    assert answer.metadata.uid
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("pods", "web")


async def test_oversized_object_is_refused(shoal_client: Client) -> None:
    big = obj(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "big"},
            "data": {"blob": "x" * (2 * 1024 * 1024)},
        }
    )
    with pytest.raises(errors.InvalidError, match="too large"):
        await shoal_client.create(big)
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("cm", "big")


async def test_cluster_scoped_kinds_ignore_namespace(shoal_client: Client) -> None:
    node = await shoal_client.create(
        obj({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "namespace": "x"}})
    )
    assert node.metadata.namespace == ""
    assert (await shoal_client.get("nodes", "node-1", namespace="")).metadata.name == "node-1"
