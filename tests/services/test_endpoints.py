"""The endpoints controller: pure subset computation, and the controller
against the real in-process server."""

from __future__ import annotations

from typing import Any

from shoal.client import Client
from shoal.manifest import from_dict, to_dict
from shoal.plugins.controllers.endpoints import EndpointsController, endpoint_subsets

from tests.controllers.helpers import mark_ready, running
from tests.integration.helpers import eventually


def service(name: str = "web", **spec: Any) -> Any:
    body = {
        "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
    }
    body.update(spec)
    return from_dict(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": body}
    )


def pod(name: str, ip: str, *, port: int = 8080, ready: bool = True, labels: Any = None) -> Any:
    p = from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {"app": "web"}},
            "spec": {
                "nodeName": "n1",
                "containers": [
                    {"name": "c", "image": "x", "ports": [{"name": "http", "containerPort": port}]}
                ],
            },
        }
    )
    p.status.pod_ip = ip
    return mark_ready(p) if ready else p


def test_named_target_port_resolves_per_pod_and_groups_subsets() -> None:
    pods = [
        pod("a", "10.0.0.2"),
        pod("b", "10.0.0.3", port=9090),
        pod("c", "10.0.0.4", ready=False),
    ]
    subsets = [to_dict(s) for s in endpoint_subsets(service(), pods)]
    assert subsets == [
        {
            "addresses": [
                {
                    "ip": "10.0.0.2",
                    "nodeName": "n1",
                    "targetRef": {"kind": "Pod", "namespace": "default", "name": "a"},
                }
            ],
            "notReadyAddresses": [
                {
                    "ip": "10.0.0.4",
                    "nodeName": "n1",
                    "targetRef": {"kind": "Pod", "namespace": "default", "name": "c"},
                }
            ],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        },
        {
            "addresses": [
                {
                    "ip": "10.0.0.3",
                    "nodeName": "n1",
                    "targetRef": {"kind": "Pod", "namespace": "default", "name": "b"},
                }
            ],
            "ports": [{"name": "http", "port": 9090, "protocol": "TCP"}],
        },
    ]


def test_numbers_pods_without_ip_terminating_and_missing_names() -> None:
    svc = service(ports=[{"port": 80, "targetPort": 8000, "protocol": "TCP"}])
    gone = pod("gone", "10.0.0.9")
    gone.metadata.deletion_timestamp.seconds = 1
    subsets = endpoint_subsets(svc, [pod("a", "10.0.0.2"), pod("noip", ""), gone])
    assert [(a.ip, s.ports[0].port) for s in subsets for a in s.addresses] == [("10.0.0.2", 8000)]
    named = service(ports=[{"port": 80, "targetPort": "metrics", "protocol": "TCP"}])
    assert endpoint_subsets(named, [pod("a", "10.0.0.2")]) == []


def test_publish_not_ready_addresses() -> None:
    svc = service(publishNotReadyAddresses=True)
    subsets = endpoint_subsets(svc, [pod("c", "10.0.0.4", ready=False)])
    assert [a.ip for a in subsets[0].addresses] == ["10.0.0.4"]


async def _create_pod(client: Client, p: Any) -> Any:
    created = await client.create(p)
    created.status.CopyFrom(p.status)
    return await client.update_status(created)


async def _addresses(client: Client, name: str = "web") -> tuple[list[str], list[str]]:
    try:
        ep = await client.get("Endpoints", name)
    except Exception:
        return [], []
    ready = sorted(a.ip for s in ep.subsets for a in s.addresses)
    not_ready = sorted(a.ip for s in ep.subsets for a in s.not_ready_addresses)
    return ready, not_ready


async def test_controller_follows_readiness_labels_and_deletion(shoal_client: Client) -> None:
    async with running(EndpointsController(shoal_client, workers=2)):
        await shoal_client.create(service())
        await _create_pod(shoal_client, pod("a", "10.0.0.2"))
        b = await _create_pod(shoal_client, pod("b", "10.0.0.3", ready=False))
        await eventually(lambda: _equals(shoal_client, (["10.0.0.2"], ["10.0.0.3"])))
        mark_ready(b)
        await shoal_client.update_status(b)
        await eventually(lambda: _equals(shoal_client, (["10.0.0.2", "10.0.0.3"], [])))
        await shoal_client.patch("Pod", "a", {"metadata": {"labels": {"app": "other"}}})
        await eventually(lambda: _equals(shoal_client, (["10.0.0.3"], [])))
        await shoal_client.delete("Pod", "b")
        await eventually(lambda: _equals(shoal_client, ([], [])))
        await shoal_client.delete("Service", "web")
        await eventually(lambda: _gone(shoal_client))


async def test_endpoints_deleted_by_hand_come_back(shoal_client: Client) -> None:
    async with running(EndpointsController(shoal_client, workers=1)):
        await shoal_client.create(service())
        await _create_pod(shoal_client, pod("a", "10.0.0.2"))
        await eventually(lambda: _equals(shoal_client, (["10.0.0.2"], [])))
        await shoal_client.delete("Endpoints", "web")
        await eventually(lambda: _equals(shoal_client, (["10.0.0.2"], [])))


async def _equals(client: Client, want: tuple[list[str], list[str]]) -> bool:
    return await _addresses(client) == want


async def _gone(client: Client) -> bool:
    try:
        await client.get("Endpoints", "web")
    except Exception:
        return True
    return False
