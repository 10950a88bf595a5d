"""A pod's resolv.conf by dnsPolicy, as the kubelet writes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from google.protobuf import json_format
from shoal.api.v1 import core_pb2
from shoal.plugins.dns.resolvconf import DNSSettings, host_resolv_conf, pod_dns

SERVER = ["172.17.0.1"]


def pod(**spec: Any) -> Any:
    body = {"metadata": {"name": "p", "namespace": "shop"}, "spec": {"containers": [], **spec}}
    return json_format.ParseDict(body, core_pb2.Pod())


def test_cluster_first_is_the_default() -> None:
    assert pod_dns(pod(), SERVER, "cluster.local") == DNSSettings(
        ["172.17.0.1"],
        ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"],
        ["ndots:5"],
    )


def test_host_network_pods_get_the_nodes_unless_with_host_net() -> None:
    assert pod_dns(pod(hostNetwork=True), SERVER, "cluster.local") == DNSSettings()
    with_host_net = pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet")
    assert pod_dns(with_host_net, SERVER, "cluster.local").servers == SERVER


def test_default_leaves_the_engine_copy_of_the_nodes() -> None:
    assert pod_dns(pod(dnsPolicy="Default"), SERVER, "cluster.local") == DNSSettings()


def test_no_cluster_dns_falls_back_to_default() -> None:
    assert pod_dns(pod(), [], "cluster.local") == DNSSettings()


def test_none_takes_only_dns_config() -> None:
    config = {
        "nameservers": ["10.0.0.53"],
        "searches": ["corp.example"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
    }
    settings = pod_dns(pod(dnsPolicy="None", dnsConfig=config), SERVER, "cluster.local")
    assert settings == DNSSettings(["10.0.0.53"], ["corp.example"], ["ndots:2", "edns0"])


def test_dns_config_adds_to_cluster_first() -> None:
    config = {"nameservers": ["10.0.0.53"], "options": [{"name": "ndots", "value": "1"}]}
    settings = pod_dns(pod(dnsConfig=config), SERVER, "cluster.local")
    assert settings.servers == ["172.17.0.1", "10.0.0.53"]
    assert settings.options == ["ndots:1"]


def test_host_resolv_conf(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 10.0.0.2\nsearch a.example b.example\noptions rotate\n")
    assert host_resolv_conf(conf) == DNSSettings(
        ["10.0.0.2"], ["a.example", "b.example"], ["rotate"]
    )


def test_engines_get_the_settings_on_the_sandbox() -> None:
    from shoal.plugins.runtimes.docker import _sandbox_create_args
    from shoal.plugins.runtimes.podman import _pod_spec
    from shoal.runtime import PodSandboxConfig

    config = PodSandboxConfig(
        "p", "shop", "uid-1", dns_servers=SERVER, dns_searches=["a.b"], dns_options=["ndots:5"]
    )
    docker = _sandbox_create_args(config, "node", "pause")
    want = (SERVER, ["a.b"], ["ndots:5"])
    assert (docker["dns"], docker["dns_search"], docker["dns_opt"]) == want
    podman = _pod_spec(config, "node", "pause")
    assert (podman["dns_server"], podman["dns_search"], podman["dns_option"]) == want
    plain = _pod_spec(PodSandboxConfig("p", "shop", "uid-1"), "node", "pause")
    assert "dns_option" not in plain and _sandbox_create_args(config, "n", "i")["dns_opt"]
