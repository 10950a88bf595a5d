"""The agent's side of Services: it runs the proxy plugin, and pods get
hosts entries for the Services of their namespace."""

from __future__ import annotations

from shoal.agent.discovery import service_hosts
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.runtimes.fake import FakeRuntime

from tests.agent.conftest import StartAgent, start_agent  # noqa: F401  (fixture)
from tests.integration.helpers import eventually, pod


def _svc(name: str, namespace: str, ip: str) -> object:
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": ip, "ports": [{"port": 6379}]},
        }
    )


def test_hosts_names_of_the_pods_namespace_only() -> None:
    services = [_svc("redis", "default", "10.96.0.7"), _svc("db", "other", "10.96.0.8")]
    services.append(_svc("headless", "default", "None"))
    assert service_hosts(services, "default") == {
        "redis": "10.96.0.7",
        "redis.default": "10.96.0.7",
        "redis.default.svc": "10.96.0.7",
        "redis.default.svc.cluster.local": "10.96.0.7",
    }


async def test_agent_runs_the_proxy_and_writes_hosts(
    shoal_client: Client,
    start_agent: StartAgent,  # noqa: F811
) -> None:
    svc = await shoal_client.create(
        from_dict(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "redis"},
                "spec": {"selector": {"app": "redis"}, "ports": [{"port": 6379}]},
            }
        )
    )
    runtime = FakeRuntime({})
    agent = await start_agent(runtime=runtime, proxy_mode="userspace")
    await eventually(lambda: agent.proxy is not None and agent.proxy.synced.is_set())
    await eventually(lambda: agent.proxy.portal("default/redis:") is not None)
    await shoal_client.create(pod("web", node="node-1"))
    await eventually(lambda: runtime.sandboxes)
    (_, config), *_ = runtime.sandboxes.values()
    assert config.extra_hosts["redis"] == svc.spec.cluster_ip
    assert config.extra_hosts["redis.default.svc.cluster.local"] == svc.spec.cluster_ip
