"""The Kubernetes protobuf request bodies kubectl's typed ``create``
generators send, decoded into Kubernetes JSON: bytes built by hand here, the
way Go's generated marshallers write them (zero values included)."""

from __future__ import annotations

import pytest
from shoal.plugins.gateway import protowire
from shoal.plugins.gateway.protowire import ProtoError, UnsupportedKind

from tests.gateway.conftest import GatewayServer


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative numbers as Go writes them: ten bytes
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def num(field: int, value: int) -> bytes:
    return varint(field << 3) + varint(value)


def msg(field: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return varint(field << 3 | 2) + varint(len(body)) + body


def text(field: int, value: str) -> bytes:
    return msg(field, value.encode())


def entry(field: int, key: str, value: bytes | str) -> bytes:
    return msg(field, text(1, key), text(2, value) if isinstance(value, str) else msg(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = msg(1, text(1, api_version), text(2, kind))
    return b"k8s\x00" + type_meta + msg(2, raw) + text(3, "") + text(4, "")


def object_meta(name: str, **labels: str) -> bytes:
    zero = text(4, "") + text(5, "") + text(6, "") + num(7, 0) + msg(8)  # always written
    return msg(1, text(1, name), text(2, ""), text(3, ""), zero,
               *(entry(11, k, v) for k, v in labels.items()))  # fmt: skip


def test_deployment_keeps_pointer_zeros_and_drops_plain_ones() -> None:
    container = msg(2, text(1, "web"), text(2, "nginx"), text(3, "sh"), text(3, "-c"),
                    msg(6, text(1, ""), num(2, 0), num(3, 80), text(4, "TCP")),
                    msg(7, text(1, "MODE"), text(2, "prod")),
                    msg(8, entry(2, "cpu", text(1, "500m"))), text(14, ""), num(18, 0))  # fmt: skip
    template = msg(3, object_meta("", app="web"), msg(2, container, text(3, "Always")))
    strategy = msg(4, text(1, "RollingUpdate"), msg(2, msg(1, num(1, 1), text(3, "25%")),
                                                      msg(2, num(1, 0), num(2, 2))))  # fmt: skip
    spec = msg(2, num(1, 0), msg(2, entry(1, "app", "web")), template, strategy, num(5, 0))
    status = msg(3, num(1, 0), num(2, 0))
    body = envelope("apps/v1", "Deployment", object_meta("web", app="web") + spec + status)
    got = protowire.decode_object(body)
    assert got["apiVersion"] == "apps/v1" and got["kind"] == "Deployment"
    assert got["metadata"] == {"name": "web", "labels": {"app": "web"}}
    assert got["status"] == {}
    assert got["spec"]["replicas"] == 0 and "minReadySeconds" not in got["spec"]
    assert got["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert got["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": 2}
    pod = got["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Always"
    assert pod["containers"] == [
        {
            "name": "web",
            "image": "nginx",
            "command": ["sh", "-c"],
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "env": [{"name": "MODE", "value": "prod"}],
            "resources": {"requests": {"cpu": "500m"}},
        }
    ]


def test_configmap_secret_and_times() -> None:
    meta = msg(1, text(1, "cfg"), msg(8, num(1, 1_700_000_000)))
    binary = msg(3, text(1, "bin"), msg(2, b"\x00\xff"))
    got = protowire.decode_object(envelope("v1", "ConfigMap", meta + entry(2, "a", "1") + binary))
    assert got["metadata"] == {"name": "cfg", "creationTimestamp": "2023-11-14T22:13:20Z"}
    assert got["data"] == {"a": "1"} and got["binaryData"] == {"bin": "AP8="}
    secret = msg(1, text(1, "s")) + msg(2, text(1, "pw"), msg(2, b"s3cret")) + text(3, "Opaque")
    got = protowire.decode_object(envelope("v1", "Secret", secret))
    assert got["data"] == {"pw": "czNjcmV0"} and got["type"] == "Opaque"


def test_service_ports_and_negative_numbers() -> None:
    port = msg(1, text(1, "http"), text(2, "TCP"), num(3, 80), msg(4, num(1, 1), text(3, "web")),
               num(5, 30080))  # fmt: skip
    other = msg(1, num(3, 443), msg(4, num(1, 0), num(2, 8443)))
    spec = msg(2, port, other, text(3, ""), text(4, "NodePort"), num(12, -1))
    got = protowire.decode_object(envelope("v1", "Service", object_meta("s") + spec))
    assert got["spec"] == {
        "ports": [
            {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "web", "nodePort": 30080},
            {"port": 443, "targetPort": 8443},
        ],
        "type": "NodePort",
        "healthCheckNodePort": -1,
    }


def test_rbac_rules_and_bindings() -> None:
    rule = msg(2, text(1, "get"), text(1, "list"), text(2, ""), text(3, "pods"))
    got = protowire.decode_object(envelope("rbac.authorization.k8s.io/v1", "Role",
                                           object_meta("r") + rule))  # fmt: skip
    assert got["rules"] == [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
    binding = msg(2, text(1, "User"), text(3, "alice")) + msg(3, text(2, "Role"), text(3, "r"))
    got = protowire.decode_object(envelope("rbac.authorization.k8s.io/v1", "RoleBinding", binding))
    assert got["subjects"] == [{"kind": "User", "name": "alice"}]
    assert got["roleRef"] == {"kind": "Role", "name": "r"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (envelope("v1", "ConfigMap", num(9, 1)), "unknown field 9 in message ConfigMap"),
        (envelope("v1", "ConfigMap", msg(1, text(1, "x"), num(15, 1))),
         "unknown field 15 in message ObjectMeta"),
        (envelope("v1", "ConfigMap", num(2, 1)), "field 2 (data) of ConfigMap has wire type 0"),
        (envelope("v1", "ConfigMap", msg(1, text(1, "x"))[:-1]), "truncated"),
        (b'{"kind": "ConfigMap"}', "magic"),
        (b"k8s\x00" + num(1, 5), "expected a length-delimited field"),
        (b"k8s\x00" + num(9, 5), "unknown field 9 in message Unknown"),
    ],
)  # fmt: skip
def test_bad_bodies_are_errors(body: bytes, message: str) -> None:
    with pytest.raises(ProtoError, match=message.replace("(", r"\(").replace(")", r"\)")):
        protowire.decode_object(body)


def test_kind_without_schema() -> None:
    with pytest.raises(UnsupportedKind, match="Pod"):
        protowire.decode_object(envelope("v1", "Pod", b""))


PROTOBUF = {"Content-Type": "application/vnd.kubernetes.protobuf", "Accept": "application/json"}


async def test_gateway_answers_protobuf_with_json(gateway_server: GatewayServer) -> None:
    body = envelope("v1", "ConfigMap", object_meta("cfg") + entry(2, "k", "v"))
    async with gateway_server.http.post(
        "/api/v1/namespaces/default/configmaps", data=body, headers=PROTOBUF
    ) as response:
        assert response.status == 201 and response.content_type == "application/json"
        assert (await response.json())["data"] == {"k": "v"}
    stored = await gateway_server.client.get("ConfigMap", "cfg", "default")
    assert dict(stored.data) == {"k": "v"}
    unknown = envelope("v1", "ConfigMap", object_meta("c2") + num(7, 1))
    async with gateway_server.http.post(
        "/api/v1/namespaces/default/configmaps", data=unknown, headers=PROTOBUF
    ) as response:
        status = await response.json()
        assert response.status == 400 and status["reason"] == "BadRequest"
        assert "unknown field 7 in message ConfigMap" in status["message"]
    pod = envelope("v1", "Pod", object_meta("p"))
    async with gateway_server.http.post(
        "/api/v1/namespaces/default/pods", data=pod, headers=PROTOBUF
    ) as response:
        assert response.status == 415 and "send it as application/json" in await response.text()
