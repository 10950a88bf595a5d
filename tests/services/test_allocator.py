"""ClusterIP / NodePort allocation: the plain allocator, without a server."""

from __future__ import annotations

from typing import Any

import pytest
from shoal import errors
from shoal.apiserver.services import ServiceAllocator, parse_cluster_ip_range, parse_port_range
from shoal.manifest import from_dict


def svc(name: str, type_: str = "ClusterIP", cluster_ip: str = "", node_port: int = 0) -> Any:
    port: dict[str, Any] = {"port": 80, "protocol": "TCP"}
    if node_port:
        port["nodePort"] = node_port
    spec: dict[str, Any] = {"type": type_, "ports": [port]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return from_dict(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}
    )


def test_small_range_hands_out_each_address_once_then_is_full() -> None:
    alloc = ServiceAllocator("10.0.0.0/29", "30000-30001")
    ips = [alloc.reserve_create(s := svc(f"s{i}")) and s.spec.cluster_ip for i in range(5)]
    # not .0, not .7, and not .1: the first address is the kubernetes Service's
    assert sorted(ips) == [f"10.0.0.{n}" for n in range(2, 7)]
    with pytest.raises(
        errors.InvalidError, match=r"spec.clusterIP: Internal error: range 10.0.0.0/29 is full"
    ):
        alloc.reserve_create(svc("full"))


def test_the_first_address_is_kept_for_the_kubernetes_service() -> None:
    alloc = ServiceAllocator("10.96.0.0/12")
    assert alloc.kubernetes_ip == "10.96.0.1"
    first = svc("first")
    alloc.reserve_create(first)
    assert first.spec.cluster_ip == "10.96.0.2"  # never handed out on its own
    kubernetes = svc("kubernetes", cluster_ip="10.96.0.1")
    alloc.reserve_create(kubernetes)  # but asking for it by value gets it
    assert kubernetes.spec.cluster_ip == "10.96.0.1"
    with pytest.raises(errors.InvalidError, match="provided IP is already allocated"):
        alloc.reserve_create(svc("again", cluster_ip="10.96.0.1"))


def test_requested_ip_conflicts_and_range_errors_name_the_field() -> None:
    alloc = ServiceAllocator("10.96.0.0/12")
    alloc.reserve_create(svc("a", cluster_ip="10.96.0.10"))
    with pytest.raises(
        errors.InvalidError,
        match=r'spec.clusterIP: Invalid value: "10.96.0.10": provided IP is already allocated',
    ):
        alloc.reserve_create(svc("b", cluster_ip="10.96.0.10"))
    with pytest.raises(
        errors.InvalidError, match=r"not in the valid range. The range of valid IPs is 10.96.0.0/12"
    ):
        alloc.reserve_create(svc("c", cluster_ip="192.168.1.1"))
    with pytest.raises(errors.InvalidError, match=r"must be a valid IP address"):
        alloc.reserve_create(svc("d", cluster_ip="ten"))


def test_node_port_allocation_conflicts_and_range() -> None:
    alloc = ServiceAllocator(node_port_range="30000-30002")
    first = svc("a", "NodePort")
    alloc.reserve_create(first)
    assert first.spec.ports[0].node_port == 30000
    with pytest.raises(
        errors.InvalidError,
        match=r"spec.ports\[0\].nodePort: Invalid value: 30000: provided port is already allocated",
    ):
        alloc.reserve_create(svc("b", "NodePort", node_port=30000))
    with pytest.raises(errors.InvalidError, match=r"The range of valid ports is 30000-30002"):
        alloc.reserve_create(svc("c", "NodePort", node_port=8080))
    with pytest.raises(
        errors.InvalidError, match=r"Forbidden: may not be used when `type` is 'ClusterIP'"
    ):
        alloc.reserve_create(svc("d", node_port=30001))


def test_a_refused_create_keeps_nothing() -> None:
    alloc = ServiceAllocator("10.0.0.0/29", "30000-30001")
    taken = svc("a", "NodePort", node_port=30000)
    alloc.reserve_create(taken)
    with pytest.raises(errors.InvalidError):
        alloc.reserve_create(svc("b", "NodePort", node_port=30000))
    assert alloc.ips.used == {int.from_bytes(bytes([10, 0, 0, 2]), "big")}
    assert alloc.ports.used == {30000}


def test_headless_gets_no_ip_and_cannot_be_node_port() -> None:
    alloc = ServiceAllocator()
    headless = svc("h", cluster_ip="None")
    alloc.reserve_create(headless)
    assert headless.spec.cluster_ip == "None" and list(headless.spec.cluster_ips) == ["None"]
    assert not alloc.ips.used
    with pytest.raises(
        errors.InvalidError, match=r"may not be set to 'None' for NodePort services"
    ):
        alloc.reserve_create(svc("n", "NodePort", cluster_ip="None"))


def test_update_keeps_omitted_allocations_and_frees_given_up_ports() -> None:
    alloc = ServiceAllocator(node_port_range="30000-30010")
    old = svc("a", "NodePort")
    alloc.reserve_create(old)
    same = svc("a", "NodePort")  # a replace without clusterIP and nodePort
    alloc.commit(alloc.reserve_update(old, same))
    assert same.spec.cluster_ip == old.spec.cluster_ip
    assert same.spec.ports[0].node_port == old.spec.ports[0].node_port
    to_cluster_ip = svc("a", "ClusterIP")
    change = alloc.reserve_update(same, to_cluster_ip)
    assert change.removed == [("port", 30000)]
    alloc.commit(change)
    assert alloc.ports.used == set()


def test_restore_and_release() -> None:
    alloc = ServiceAllocator(node_port_range="30000-30001")
    stored = svc("a", "NodePort", cluster_ip="10.96.0.5", node_port=30001)
    alloc.restore([stored])
    with pytest.raises(errors.InvalidError, match=r"already allocated"):
        alloc.reserve_create(svc("b", "NodePort", node_port=30001))
    alloc.release(stored)
    alloc.reserve_create(svc("c", "NodePort", cluster_ip="10.96.0.5", node_port=30001))


@pytest.mark.parametrize("text", ["10.96.0.0", "10.96.0.1/12", "::/64", "10.0.0.0/31", "x"])
def test_bad_cluster_ip_ranges(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cluster_ip_range(text)


@pytest.mark.parametrize("text", ["30000", "1-65535", "30000-32767"])
def test_good_port_ranges(text: str) -> None:
    parse_port_range(text)


@pytest.mark.parametrize("text", ["0-10", "3-2", "a-b", "30000-70000"])
def test_bad_port_ranges(text: str) -> None:
    with pytest.raises(ValueError):
        parse_port_range(text)
