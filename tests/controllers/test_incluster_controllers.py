"""What in-cluster programs need from the control plane: the ``default``
ServiceAccount and the ``kube-root-ca.crt`` ConfigMap in every namespace,
and the ``kubernetes`` Service with its Endpoints, each put back when
deleted or changed."""

from __future__ import annotations

from typing import Any

from shoal import errors
from shoal.apiserver.kubernetes_service import KubernetesServiceReconciler, advertise_address
from shoal.client import Client
from shoal.plugins.controllers.serviceaccounts import RootCAPublisher, ServiceAccountsController

from tests.controllers.helpers import running
from tests.integration.helpers import eventually, obj

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


async def _get(client: Client, kind: str, name: str, namespace: str) -> Any | None:
    try:
        return await client.get(kind, name, namespace)
    except errors.NotFoundError:
        return None


async def test_every_namespace_has_a_default_service_account_made_again_if_deleted(
    shoal_client: Client,
) -> None:
    await shoal_client.create(
        obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    )
    # the API server makes it with the namespace: no window in which pods are refused
    assert await _get(shoal_client, "ServiceAccount", "default", "team") is not None
    async with running(ServiceAccountsController(shoal_client)):
        await shoal_client.delete("ServiceAccount", "default", "team")
        await eventually(lambda: _get(shoal_client, "ServiceAccount", "default", "team"))
        others = obj({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci"}})
        await shoal_client.create(others)
        await shoal_client.delete("ServiceAccount", "ci")  # only `default` is kept
        assert await _get(shoal_client, "ServiceAccount", "ci", "default") is None


async def test_root_ca_is_published_in_every_namespace_and_restored(shoal_client: Client) -> None:
    async with running(RootCAPublisher(shoal_client, ca_pem=CA.encode())):

        async def published(ns: str) -> bool:
            cm = await _get(shoal_client, "ConfigMap", "kube-root-ca.crt", ns)
            return cm is not None and dict(cm.data) == {"ca.crt": CA}

        await eventually(lambda: published("default"))
        await shoal_client.create(
            obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "later"}})
        )
        await eventually(lambda: published("later"))
        await shoal_client.patch(
            "ConfigMap", "kube-root-ca.crt", {"data": {"ca.crt": "x"}}, "later"
        )
        await eventually(lambda: published("later"))
        await shoal_client.delete("ConfigMap", "kube-root-ca.crt", "later")
        await eventually(lambda: published("later"))


async def test_the_kubernetes_service_points_at_the_gateway_and_comes_back(
    shoal_client: Client,
) -> None:
    reconciler = KubernetesServiceReconciler(
        shoal_client, cluster_ip="10.96.0.1", address="192.0.2.7", port=6444
    )
    async with running(reconciler):
        svc = await eventually(lambda: _get(shoal_client, "Service", "kubernetes", "default"))
        assert svc.spec.cluster_ip == "10.96.0.1" and not svc.spec.selector
        port = svc.spec.ports[0]
        assert (port.name, port.port, port.protocol, port.target_port.number_value) == (
            "https", 443, "TCP", 6444,
        )  # fmt: skip
        ep = await eventually(lambda: _get(shoal_client, "Endpoints", "kubernetes", "default"))
        assert [a.ip for a in ep.subsets[0].addresses] == ["192.0.2.7"]
        assert [(p.name, p.port) for p in ep.subsets[0].ports] == [("https", 6444)]

        await shoal_client.delete("Service", "kubernetes", "default")
        back = await eventually(lambda: _get(shoal_client, "Service", "kubernetes", "default"))
        assert back.spec.cluster_ip == "10.96.0.1"  # asked for by value: the reserved address
        await shoal_client.delete("Endpoints", "kubernetes", "default")
        await eventually(lambda: _get(shoal_client, "Endpoints", "kubernetes", "default"))

        wrong = {"subsets": [{"addresses": [{"ip": "192.0.2.99"}], "ports": [{"port": 1}]}]}
        await shoal_client.patch("Endpoints", "kubernetes", wrong, "default")

        async def restored() -> bool:
            ep = await _get(shoal_client, "Endpoints", "kubernetes", "default")
            return ep is not None and ep.subsets[0].addresses[0].ip == "192.0.2.7"

        await eventually(restored)


def test_the_advertised_address_is_an_ip_of_this_host() -> None:
    assert advertise_address("127.0.0.1") == "127.0.0.1"
    assert advertise_address("localhost") == "127.0.0.1"
    assert advertise_address("0.0.0.0", "192.0.2.5") == "192.0.2.5"
    assert advertise_address("192.0.2.6") == "192.0.2.6"
    assert advertise_address("0.0.0.0")  # this host's own name, resolved locally


def test_the_serving_certificate_names_what_pods_call_the_api() -> None:
    from shoal.apiserver.server import gateway_address, serving_sans

    assert gateway_address("") == ""  # no gateway, no kubernetes Endpoints
    advertised = gateway_address("0.0.0.0:6444", "192.0.2.5")
    assert advertised == "192.0.2.5"
    assert serving_sans("10.96.0.1", advertised, ("api.example",)) == (
        "10.96.0.1",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "192.0.2.5",
        "api.example",
    )
