"""Names -> answers, with dnslib packets built here and no sockets."""

from __future__ import annotations

from dnslib import RCODE, DNSRecord
from google.protobuf import json_format
from shoal.api.v1 import core_pb2
from shoal.plugins.dns.records import build_names
from shoal.plugins.dns.resolver import Resolver


def service(name: str, ns: str, cluster_ip: str, ports: list[dict], **spec: object) -> object:
    body = {
        "metadata": {"name": name, "namespace": ns},
        "spec": {"clusterIP": cluster_ip, "ports": ports, **spec},
    }
    return json_format.ParseDict(body, core_pb2.Service())


def endpoints(name: str, ns: str, addresses: list[dict], ports: list[dict]) -> object:
    body = {
        "metadata": {"name": name, "namespace": ns},
        "subsets": [{"addresses": addresses, "ports": ports}],
    }
    return json_format.ParseDict(body, core_pb2.Endpoints())


WEB = service("web", "default", "10.96.0.20", [{"name": "http", "port": 80}])
DB = service("db", "other", "None", [{"name": "pg", "port": 5432}])
DB_EPS = endpoints(
    "db",
    "other",
    [{"ip": "172.17.0.5", "hostname": "db-0"}, {"ip": "172.17.0.6"}],
    [{"name": "pg", "port": 15432}],
)
V6 = service("six", "default", "fd00::a", [], clusterIPs=["fd00::a"])


def resolver() -> Resolver:
    r = Resolver("cluster.local")
    r.names = build_names([WEB, DB, V6], [DB_EPS])
    return r


def ask(r: Resolver, name: str, qtype: str = "A") -> DNSRecord | None:
    return r.answer(DNSRecord.question(name, qtype))


def answers(reply: DNSRecord | None) -> list[str]:
    assert reply is not None
    return sorted(str(rr.rdata) for rr in reply.rr)


def test_a_record_of_a_service_is_its_cluster_ip() -> None:
    reply = ask(resolver(), "web.default.svc.cluster.local")
    assert answers(reply) == ["10.96.0.20"]
    assert reply is not None and reply.header.rcode == RCODE.NOERROR and reply.header.aa


def test_names_are_case_insensitive_and_may_end_in_a_dot() -> None:
    assert answers(ask(resolver(), "WEB.Default.svc.cluster.local.")) == ["10.96.0.20"]


def test_aaaa_for_an_ipv6_cluster_ip_and_nodata_for_a() -> None:
    r = resolver()
    assert answers(ask(r, "six.default.svc.cluster.local", "AAAA")) == ["fd00::a"]
    reply = ask(r, "six.default.svc.cluster.local", "A")
    assert reply is not None and answers(reply) == [] and reply.header.rcode == RCODE.NOERROR


def test_headless_service_answers_its_ready_endpoints() -> None:
    assert answers(ask(resolver(), "db.other.svc.cluster.local")) == ["172.17.0.5", "172.17.0.6"]


def test_pod_hostname_under_its_subdomain_service() -> None:
    r = resolver()
    assert answers(ask(r, "db-0.db.other.svc.cluster.local")) == ["172.17.0.5"]
    assert answers(ask(r, "172-17-0-6.db.other.svc.cluster.local")) == ["172.17.0.6"]


def test_srv_for_named_ports() -> None:
    r = resolver()
    reply = ask(r, "_http._tcp.web.default.svc.cluster.local", "SRV")
    assert answers(reply) == ["0 100 80 web.default.svc.cluster.local."]
    headless = answers(ask(r, "_pg._tcp.db.other.svc.cluster.local", "SRV"))
    assert headless == [
        "0 100 15432 172-17-0-6.db.other.svc.cluster.local.",
        "0 100 15432 db-0.db.other.svc.cluster.local.",
    ]


def test_ptr_of_a_cluster_ip() -> None:
    reply = ask(resolver(), "20.0.96.10.in-addr.arpa", "PTR")
    assert answers(reply) == ["web.default.svc.cluster.local."]


def test_namespaced_names_of_existing_services_are_aliases() -> None:
    r = resolver()
    for name in ("web.default", "web.default.svc", "db.other"):
        reply = ask(r, name)
        assert reply is not None, name
        cname, *addresses = [str(rr.rdata) for rr in reply.rr]
        assert cname == name.split(".")[0] + "." + name.split(".")[1] + ".svc.cluster.local."
        assert addresses, name
    assert ask(r, "web.nope") is None  # no such Service: forwarded
    assert ask(r, "example.org") is None


def test_unknown_names_in_the_zone_are_nxdomain() -> None:
    r = resolver()
    for name in ("nope.default.svc.cluster.local", "web.nope.svc.cluster.local", "x.cluster.local"):
        reply = ask(r, name)
        assert reply is not None and reply.header.rcode == RCODE.NXDOMAIN, name


def test_a_namespace_exists_without_records() -> None:
    reply = ask(resolver(), "default.svc.cluster.local")
    assert reply is not None and reply.header.rcode == RCODE.NOERROR and not reply.rr


def test_names_outside_the_zone_are_left_to_the_forwarder() -> None:
    r = resolver()
    assert ask(r, "example.org") is None
    assert ask(r, "4.3.2.1.in-addr.arpa", "PTR") is None


def test_another_zone() -> None:
    r = Resolver("corp.example")
    r.names = build_names([WEB], [], "corp.example")
    assert answers(ask(r, "web.default.svc.corp.example")) == ["10.96.0.20"]
    assert ask(r, "web.default.svc.cluster.local") is None


def test_answers_follow_new_tables() -> None:
    r = resolver()
    r.names = build_names([service("web", "default", "10.96.0.30", [])], [])
    assert answers(ask(r, "web.default.svc.cluster.local")) == ["10.96.0.30"]
    assert answers(ask(r, "_http._tcp.web.default.svc.cluster.local", "SRV")) == []
    assert ask(r, "20.0.96.10.in-addr.arpa", "PTR") is None
