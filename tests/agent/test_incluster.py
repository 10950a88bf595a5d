"""The agent's side of in-cluster access: the ``kubernetes`` Service's
variables in every namespace, the projected kube-api-access files, and pod
tokens asked again at 80% of their lifetime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shoal.agent.env import ContainerConfigError, direct_master, pod_services, service_env
from shoal.agent.projected import projected_files
from shoal.agent.tokens import TokenManager
from shoal.apiserver.serviceaccounts import token_volume

from tests.integration.helpers import obj, pod


def _service(name: str, namespace: str, ip: str, port: int = 443) -> Any:
    return obj(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": ip, "ports": [{"name": "https", "port": port}]},
        }
    )


SERVICES = {
    "default": [
        _service("kubernetes", "default", "10.96.0.1"),
        _service("web", "default", "10.96.0.9", 80),
    ],
    "team": [_service("db", "team", "10.96.0.5", 5432)],
}


def _of(namespace: str) -> list[Any]:
    return SERVICES.get(namespace, [])


def test_pods_of_every_namespace_get_the_kubernetes_service() -> None:
    env = service_env(pod_services(_of, "team", links=True))
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert env["KUBERNETES_PORT"] == "tcp://10.96.0.1:443"
    assert env["KUBERNETES_PORT_443_TCP_ADDR"] == "10.96.0.1"
    assert env["DB_SERVICE_HOST"] == "10.96.0.5"
    assert "WEB_SERVICE_HOST" not in env  # other namespaces' Services stay out


def test_enable_service_links_false_keeps_only_kubernetes() -> None:
    for namespace in ("team", "default"):
        env = service_env(pod_services(_of, namespace, links=False))
        assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
        assert not any(k.startswith(("DB_", "WEB_")) for k in env)


def test_a_kubernetes_service_of_the_pods_own_namespace_wins() -> None:
    own = {
        "team": [_service("kubernetes", "team", "10.96.0.77")],
        **{"default": SERVICES["default"]},
    }
    services = pod_services(lambda ns: own.get(ns, []), "team", links=True)
    assert service_env(services)["KUBERNETES_SERVICE_HOST"] == "10.96.0.77"


def _endpoints(ip: str, port: int) -> Any:
    return obj(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": port}]}],
        }
    )


def test_without_routed_cluster_ips_pods_get_the_gateways_own_address() -> None:
    services = pod_services(_of, "team", links=True)
    env = service_env(direct_master(services, _endpoints("192.0.2.2", 6444)))
    assert (env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]) == ("192.0.2.2", "6444")
    assert env["KUBERNETES_PORT"] == "tcp://192.0.2.2:6444"
    assert env["DB_SERVICE_HOST"] == "10.96.0.5"  # other Services are left alone
    assert SERVICES["default"][0].spec.cluster_ip == "10.96.0.1"  # the informer's copy too
    # loopback is no use inside a container: the ClusterIP stays
    kept = service_env(direct_master(services, _endpoints("127.0.0.1", 6444)))
    assert kept["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert service_env(direct_master(services, None))["KUBERNETES_SERVICE_PORT"] == "443"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_tokens_are_asked_again_past_80_percent_of_their_life() -> None:
    clock, asked = Clock(), []

    async def request(ns: str, sa: str, seconds: int, name: str, uid: str) -> tuple[str, float]:
        asked.append((ns, sa, seconds, name, uid))
        return f"token-{len(asked)}", clock.now + seconds

    tokens = TokenManager(request, clock)
    p = pod("app", namespace="default", serviceAccountName="builder")
    p.metadata.uid = "u1"
    assert await tokens.token(p, 3607) == "token-1"
    assert asked == [("default", "builder", 3607, "app", "u1")]
    clock.now += 3607 * 0.79
    assert not tokens.due("u1") and await tokens.token(p, 3607) == "token-1"
    clock.now += 3607 * 0.02  # past 80%
    assert tokens.due("u1")
    assert await tokens.token(p, 3607) == "token-2"
    assert not tokens.due("u1")
    assert await tokens.token(p, 60) == "token-3" and asked[-1][2] == 600  # the shortest
    tokens.forget("u1")
    assert not tokens.due("u1")


async def test_the_kube_api_access_volume_files() -> None:
    p = pod("app", namespace="team")
    p.metadata.uid = "u1"
    ca = obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"},
              "data": {"ca.crt": "PEM"}})  # fmt: skip

    async def lookup(kind: str, name: str) -> Any:
        return ca if (kind, name) == ("ConfigMap", "kube-root-ca.crt") else None

    class Tokens:
        async def token(self, pod: Any, seconds: int) -> str:
            return f"t-{pod.metadata.name}-{seconds}"

    volume = token_volume("kube-api-access-abcde")
    files = await projected_files(p, volume.projected, lookup, Tokens())
    assert files == {"token": b"t-app-3607", "ca.crt": b"PEM", "namespace": b"team"}
    with pytest.raises(ContainerConfigError, match=r'configmap "kube-root-ca\.crt" not found'):
        await projected_files(p, volume.projected, lambda k, n: _none(), Tokens())


async def _none() -> None:
    return None


async def test_the_token_file_is_rewritten_once_due(tmp_path: Any) -> None:
    from types import SimpleNamespace

    from shoal.agent.podconfig import refresh_tokens
    from shoal.agent.volumes import prepare_volumes
    from shoal.apiserver.serviceaccounts import mount_token

    clock = Clock()

    async def request(ns: str, sa: str, seconds: int, name: str, uid: str) -> tuple[str, float]:
        return f"token-at-{clock.now:.0f}", clock.now + seconds

    class APIClient:
        async def get(self, kind: str, name: str, namespace: str) -> Any:
            return obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                        "data": {"ca.crt": "PEM"}})  # fmt: skip

    p = pod("app", namespace="default")
    p.metadata.uid = "u1"
    mount_token(p)
    tokens = TokenManager(request, clock)
    ctx = SimpleNamespace(tokens=tokens, client=APIClient(), data_dir=tmp_path)
    volumes = await prepare_volumes(p, tmp_path, lambda k, n: APIClient().get(k, n, ""), tokens)
    token_file = Path(next(iter(volumes.values()))) / "token"
    assert token_file.read_text() == "token-at-1000"
    events: list[tuple[str, str, str]] = []
    clock.now += 3607 * 0.5
    await refresh_tokens(ctx, p, lambda *e: events.append(e))  # type: ignore[arg-type]
    assert token_file.read_text() == "token-at-1000"  # not due yet
    clock.now += 3607 * 0.31
    await refresh_tokens(ctx, p, lambda *e: events.append(e))  # type: ignore[arg-type]
    assert token_file.read_text() == f"token-at-{clock.now:.0f}" and not events
