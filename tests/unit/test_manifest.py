"""Kubernetes manifests in and out: they parse unchanged, round-trip, and bad
ones get errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor
from shoal import kinds
from shoal.api.v1 import apps_pb2, core_pb2
from shoal.manifest import ManifestError, from_dict, load_documents, to_dict
from shoal.manifest_always import is_always

MANIFESTS = Path(__file__).parent.parent / "manifests"
FILES = sorted(MANIFESTS.glob("*.yaml"))


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}#{i}", doc)
        for path in FILES
        for i, doc in enumerate(load_documents(path.read_text(), str(path)))
    ]


def _without_defaults(data: Any, desc: Descriptor) -> Any:
    """`data` less what protobuf JSON leaves out: nulls, and zero values of
    fields without presence (exitCode: 0). Fields with presence keep zeros,
    except what Kubernetes writes for an unset field it always writes (an
    empty struct, an IntOrString 0), which reads back as unset."""
    fields = {f.json_name: f for f in desc.fields}
    out = {}
    for key, value in data.items():
        field = fields[key]
        if value is None or (not field.has_presence and value in (0, False, "", [], {})):
            continue
        sub = field.message_type
        if sub is not None and not sub.GetOptions().map_entry and "google" not in sub.full_name:
            value = (
                [_without_defaults(v, sub) for v in value]
                if field.is_repeated
                else _without_defaults(value, sub)
            )
        if is_always(field) and not field.is_repeated and value in ({}, 0):
            continue
        out[key] = value
    return out


# Create-only kinds are never applied from a file (kubectl apply reads the
# live object first); they parse like the others.
CREATE_ONLY = {"Binding", "Eviction"}


def test_there_is_a_manifest_for_every_kind() -> None:
    seen = {doc["kind"] for _, doc in _documents()}
    assert seen == {k.kind for k in kinds.all_kinds()} - CREATE_ONLY


def test_binding_parses_as_kubernetes_writes_it() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "web", "namespace": "default"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"},
    }
    assert to_dict(from_dict(doc)) == doc


@pytest.mark.parametrize(("name", "doc"), _documents(), ids=[n for n, _ in _documents()])
def test_manifest_parses_unchanged_and_round_trips(name: str, doc: dict[str, Any]) -> None:
    message = from_dict(doc)
    assert kinds.for_message(message).kind == doc["kind"]
    assert message.api_version == doc["apiVersion"]  # type: ignore[attr-defined]
    out = to_dict(message)
    assert _without_defaults(out, message.DESCRIPTOR) == _without_defaults(doc, message.DESCRIPTOR)
    # Reading the output back gives the same object, byte for byte (map
    # entries in a fixed order: protobuf's map order may differ between two
    # maps that hold the same entries).
    again = from_dict(out).SerializeToString(deterministic=True)
    assert again == message.SerializeToString(deterministic=True)


def test_to_dict_puts_api_version_and_kind_first() -> None:
    pod = core_pb2.Pod()
    pod.metadata.name = "p"
    assert list(to_dict(pod))[:3] == ["apiVersion", "kind", "metadata"]
    assert to_dict(pod)["kind"] == "Pod"


def test_to_dict_keeps_kubernetes_numbers() -> None:
    pod = from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "generation": 4},
            "spec": {
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "c", "livenessProbe": {"httpGet": {"port": 8080}}}],
            },
        }
    )
    out = to_dict(pod)
    # int64 stays a JSON number; an optional zero is kept; IntOrString stays an int.
    assert out["metadata"]["generation"] == 4
    assert out["spec"]["terminationGracePeriodSeconds"] == 0
    assert out["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] == 8080
    assert isinstance(out["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"], int)


def test_typed_fields_land_where_a_kubernetes_user_expects() -> None:
    pod = from_dict(load_documents((MANIFESTS / "pod-web.yaml").read_text())[0])
    assert isinstance(pod, core_pb2.Pod)
    web = pod.spec.containers[0]
    assert web.ports[1].host_ip == "127.0.0.1"
    assert web.readiness_probe.http_get.port.string_value == "http"
    assert web.liveness_probe.http_get.port.number_value == 80
    assert web.resources.limits["memory"] == "128Mi"
    assert web.security_context.HasField("privileged")
    assert pod.spec.tolerations[1].toleration_seconds == 300
    assert not pod.spec.tolerations[0].HasField("toleration_seconds")
    assert pod.spec.HasField("enable_service_links") and not pod.spec.enable_service_links
    assert pod.status.pod_ips[0].ip == "10.244.1.7"
    assert pod.status.container_statuses[0].last_state.terminated.exit_code == 137

    secret = from_dict(load_documents((MANIFESTS / "secret.yaml").read_text())[0])
    assert isinstance(secret, core_pb2.Secret)
    assert secret.data["username"] == b"admin"

    rs = from_dict(load_documents((MANIFESTS / "replicaset.yaml").read_text())[0])
    assert isinstance(rs, apps_pb2.ReplicaSet)
    assert rs.spec.HasField("replicas") and rs.spec.replicas == 0


def test_proto_field_names_are_accepted_too() -> None:
    svc = from_dict(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "spec": {"cluster_ip": "10.96.0.1", "ports": [{"target_port": "http"}]},
        }
    )
    spec = to_dict(svc)["spec"]
    assert spec == {"clusterIP": "10.96.0.1", "ports": [{"targetPort": "http", "port": 0}]}


def test_resource_quantities_may_be_numbers() -> None:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "resources": {"limits": {"cpu": 1, "memory": 1.5}, "requests": {"cpu": 0.5}},
                }
            ],
            "volumes": [{"name": "v", "emptyDir": {"sizeLimit": 1024}}],
        },
    }
    pod = from_dict(doc)
    assert isinstance(pod, core_pb2.Pod)
    assert dict(pod.spec.containers[0].resources.limits) == {"cpu": "1", "memory": "1.5"}
    assert pod.spec.containers[0].resources.requests["cpu"] == "0.5"
    assert pod.spec.volumes[0].empty_dir.size_limit == "1024"
    assert doc["spec"]["containers"][0]["resources"]["limits"]["cpu"] == 1  # input untouched
    node = from_dict({"apiVersion": "v1", "kind": "Node", "status": {"capacity": {"cpu": 4}}})
    assert isinstance(node, core_pb2.Node)
    assert node.status.capacity["cpu"] == "4"


def test_whole_floats_are_integers_and_null_is_unset() -> None:
    deploy = from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d", "creationTimestamp": None, "annotations": {"empty": None}},
            "spec": {"replicas": 2.0, "strategy": None},
        }
    )
    assert isinstance(deploy, apps_pb2.Deployment)
    assert deploy.spec.replicas == 2
    assert not deploy.spec.HasField("strategy")
    assert deploy.metadata.annotations["empty"] == ""


# --- errors: each names the field, in kubectl's words -------------------------


def _error(doc: dict[str, Any]) -> ManifestError:
    with pytest.raises(ManifestError) as err:
        from_dict(doc)
    return err.value


def _pod(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def _deployment(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": spec}


@pytest.mark.parametrize(
    ("doc", "message", "path"),
    [
        ({"kind": "Pod"}, "apiVersion not set", "apiVersion"),
        ({"apiVersion": "v1"}, "kind not set", "kind"),
        ({"apiVersion": "v1", "kind": ""}, "kind not set", "kind"),
        (
            {"apiVersion": "v1", "kind": "Foo"},
            'no kind "Foo" is registered for version "v1"',
            "kind",
        ),
        (
            {"apiVersion": "apps/v1", "kind": "Pod"},
            'no kind "Pod" is registered for version "apps/v1"',
            "kind",
        ),
        (
            {"apiVersion": 1, "kind": "Pod"},
            "apiVersion: expected string, got integer 1",
            "apiVersion",
        ),
    ],
)
def test_api_version_and_kind_errors(doc: dict[str, Any], message: str, path: str) -> None:
    err = _error(doc)
    assert (str(err), err.path) == (message, path)


@pytest.mark.parametrize(
    ("doc", "message", "path"),
    [
        (
            _pod({"contaners": []}),
            'unknown field "spec.contaners" in Pod',
            "spec.contaners",
        ),
        (
            _deployment({"template": {"spec": {"containers": [{"name": "c", "imagee": "x"}]}}}),
            'unknown field "spec.template.spec.containers[0].imagee" in Deployment',
            "spec.template.spec.containers[0].imagee",
        ),
        (
            {"apiVersion": "v1", "kind": "Pod", "metdata": {}},
            'unknown field "metdata" in Pod',
            "metdata",
        ),
        (
            _deployment({"replicas": "three"}),
            'spec.replicas: expected integer, got string "three"',
            "spec.replicas",
        ),
        (
            _deployment({"replicas": "3"}),
            'spec.replicas: expected integer, got string "3"',
            "spec.replicas",
        ),
        (
            _deployment({"replicas": 1.5}),
            "spec.replicas: expected integer, got number 1.5",
            "spec.replicas",
        ),
        (
            _deployment({"paused": "yes"}),
            'spec.paused: expected boolean, got string "yes"',
            "spec.paused",
        ),
        (
            _deployment({"replicas": 2**31}),
            "spec.replicas: 2147483648 is out of range for a 32-bit integer",
            "spec.replicas",
        ),
        (
            _pod({"containers": {"name": "c"}}),
            "spec.containers: expected list, got object",
            "spec.containers",
        ),
        (
            _pod({"containers": [{"name": "c", "env": {"A": "1"}}]}),
            "spec.containers[0].env: expected list, got object",
            "spec.containers[0].env",
        ),
        (
            _pod({"nodeSelector": ["ssd"]}),
            "spec.nodeSelector: expected object, got list",
            "spec.nodeSelector",
        ),
        (
            _pod({"containers": ["nginx"]}),
            'spec.containers[0]: expected object, got string "nginx"',
            "spec.containers[0]",
        ),
        (
            _pod({"containers": [None]}),
            "spec.containers[0]: null is not allowed in a list",
            "spec.containers[0]",
        ),
        (
            _pod({"containers": [{"name": "c", "env": [{"name": "PORT", "value": 80}]}]}),
            "spec.containers[0].env[0].value: expected string, got integer 80",
            "spec.containers[0].env[0].value",
        ),
        (
            _pod({"containers": [{"name": "c", "command": "sleep 10"}]}),
            'spec.containers[0].command: expected list, got string "sleep 10"',
            "spec.containers[0].command",
        ),
        (
            _pod({"nodeSelector": {"disktype": True}}),
            "spec.nodeSelector.disktype: expected string, got boolean true",
            "spec.nodeSelector.disktype",
        ),
        (
            _pod({"containers": [{"name": "c", "readinessProbe": {"tcpSocket": {"port": [80]}}}]}),
            "spec.containers[0].readinessProbe.tcpSocket.port: "
            "expected integer or string, got list",
            "spec.containers[0].readinessProbe.tcpSocket.port",
        ),
        (
            {"apiVersion": "v1", "kind": "Pod", "status": {"startTime": "yesterday"}},
            'status.startTime: invalid timestamp "yesterday", want RFC 3339 like '
            '"2024-05-01T12:00:00Z"',
            "status.startTime",
        ),
        (
            {"apiVersion": "v1", "kind": "Secret", "data": {"password": "not base64!"}},
            "data.password: illegal base64 data",
            "data.password",
        ),
        (
            {"apiVersion": "v1", "kind": "Pod", "metadata": "web"},
            'metadata: expected object, got string "web"',
            "metadata",
        ),
    ],
)
def test_field_errors_name_the_path(doc: dict[str, Any], message: str, path: str) -> None:
    err = _error(doc)
    assert (str(err), err.path) == (message, path)


# --- load_documents -----------------------------------------------------------


def test_multi_document_yaml_skips_empty_documents() -> None:
    docs = load_documents((MANIFESTS / "multi-document.yaml").read_text())
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Namespace", "guestbook"),
        ("Deployment", "redis"),
        ("Service", "redis"),
    ]


def test_list_expands_to_its_items() -> None:
    docs = load_documents((MANIFESTS / "list.yaml").read_text())
    assert [d["kind"] for d in docs] == ["ConfigMap", "Pod"]


def test_typed_list_items_get_the_lists_kind() -> None:
    text = '{"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "a"}}]}'
    assert load_documents(text) == [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}]


def test_json_documents_one_after_another() -> None:
    text = '{"apiVersion": "v1", "kind": "Namespace"}\n{"apiVersion": "v1", "kind": "Node"}\n'
    assert [d["kind"] for d in load_documents(text)] == ["Namespace", "Node"]


def test_yaml_timestamps_stay_strings() -> None:
    text = "apiVersion: v1\nkind: Pod\nstatus:\n  startTime: 2024-05-01T12:00:00Z\n"
    (doc,) = load_documents(text)
    assert doc["status"]["startTime"] == "2024-05-01T12:00:00Z"
    assert to_dict(from_dict(doc))["status"] == {"startTime": "2024-05-01T12:00:00Z"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   bad: indent\n", "pod.yaml: line 5: "),
        ("kind: Pod\nmetadata: {name: [}\n", "pod.yaml: line 2: "),
        ('{"kind": "Pod",\n "x": }', "pod.yaml: line 2: Expecting value"),
    ],
)
def test_syntax_errors_give_the_line(text: str, message: str) -> None:
    with pytest.raises(ManifestError) as err:
        load_documents(text, "pod.yaml")
    assert str(err.value).startswith(message)


def test_yaml_error_message_is_exact() -> None:
    with pytest.raises(ManifestError) as err:
        load_documents("kind: Pod\nmetadata:\n  name: a\n name: b\n", "pod.yaml")
    assert (
        str(err.value)
        == "pod.yaml: line 4: expected <block end>, but found '<block mapping start>'"
    )


def test_duplicate_keys_are_an_error() -> None:
    with pytest.raises(ManifestError) as err:
        load_documents("kind: Pod\nmetadata:\n  name: a\n  name: b\n", "pod.yaml")
    assert str(err.value) == 'pod.yaml: line 4: mapping key "name" already defined at line 3'


def test_a_document_that_is_not_an_object() -> None:
    with pytest.raises(ManifestError) as err:
        load_documents("kind: Pod\n---\n- a\n- b\n", "x.yaml")
    assert str(err.value) == "x.yaml: document 2: expected an object, got list"


def test_bad_list_items() -> None:
    with pytest.raises(ManifestError) as err:
        load_documents("apiVersion: v1\nkind: List\nitems: [3]\n", "x.yaml")
    assert str(err.value) == "x.yaml: document 1: items[0]: expected an object, got integer 3"
    assert err.value.path == "items[0]"


def test_empty_text_has_no_documents() -> None:
    assert load_documents("") == []
    assert load_documents("---\n# nothing\n---\n") == []
