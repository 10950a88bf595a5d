"""The proxy's pure parts: balancing, failure cool-down, affinity, the
ports and endpoints it derives, and the iptables-restore text."""

from __future__ import annotations

from shoal.manifest import from_dict
from shoal.plugins.proxy.balancer import ServiceBalancer
from shoal.plugins.proxy.proxier import ready_endpoints, service_ports
from shoal.plugins.proxy.rules import Redirect, chain_name, restore_text


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_round_robin_and_failed_endpoints_go_last_for_a_while() -> None:
    clock = Clock()
    b = ServiceBalancer(clock=clock)
    b.update([("a", 1), ("b", 1), ("c", 1)])
    firsts = [b.candidates()[0] for _ in range(6)]
    assert firsts == [("a", 1), ("b", 1), ("c", 1)] * 2
    b.failed(("a", 1))
    assert [b.candidates()[-1] for _ in range(3)] == [("a", 1)] * 3
    clock.now += 10
    assert ("a", 1) in [b.candidates()[0] for _ in range(3)]


def test_a_new_endpoint_list_forgives_failures() -> None:
    b = ServiceBalancer()
    b.update([("a", 1), ("b", 1)])
    b.failed(("a", 1))
    b.update([("a", 1), ("c", 1)])
    assert sorted(b.candidates()[:2]) == [("a", 1), ("c", 1)]


def test_client_ip_affinity_sticks_until_it_expires() -> None:
    clock = Clock()
    b = ServiceBalancer(clock=clock)
    b.update([("a", 1), ("b", 1), ("c", 1)], affinity_seconds=30)
    first = b.candidates("10.0.0.9")[0]
    b.connected(first, "10.0.0.9")
    assert {b.candidates("10.0.0.9")[0] for _ in range(5)} == {first}
    clock.now += 31
    assert len({b.candidates("10.0.0.9")[0] for _ in range(3)}) == 3


def test_ports_and_ready_endpoints_by_port_name_and_protocol() -> None:
    svc = from_dict(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "dns", "namespace": "kube"},
            "spec": {
                "clusterIP": "10.96.0.10",
                "type": "NodePort",
                "ports": [
                    {"name": "udp", "port": 53, "protocol": "UDP", "nodePort": 30053},
                    {"name": "sctp", "port": 9, "protocol": "SCTP"},
                ],
            },
        }
    )
    headless = from_dict(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "h"},
            "spec": {"clusterIP": "None", "ports": [{"port": 1}]},
        }
    )
    ports = service_ports([svc, headless])
    assert list(ports) == ["kube/dns:udp"]
    port = ports["kube/dns:udp"]
    assert (port.cluster_ip, port.port, port.protocol, port.node_port) == (
        "10.96.0.10",
        53,
        "UDP",
        30053,
    )
    eps = from_dict(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "dns", "namespace": "kube"},
            "subsets": [
                {
                    "addresses": [{"ip": "10.1.0.2"}, {"ip": "10.1.0.3"}],
                    "notReadyAddresses": [{"ip": "10.1.0.4"}],
                    "ports": [
                        {"name": "udp", "port": 5353, "protocol": "UDP"},
                        {"name": "udp", "port": 5353, "protocol": "TCP"},
                    ],
                }
            ],
        }
    )
    assert ready_endpoints(eps, port) == [("10.1.0.2", 5353), ("10.1.0.3", 5353)]
    assert ready_endpoints(None, port) == []


def test_restore_text_rewrites_one_chain_per_node() -> None:
    chain = chain_name("node-a")
    assert chain.startswith("SHOAL-SVC-") and len(chain) <= 28 and chain != chain_name("node-b")
    text = restore_text(chain, [Redirect("10.96.0.2", 80, "TCP", 41000)])
    assert text.splitlines() == [
        "*nat",
        f":{chain} - [0:0]",
        f"-A {chain} -d 10.96.0.2/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 41000",
        "COMMIT",
    ]
