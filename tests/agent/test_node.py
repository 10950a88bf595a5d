"""Node registration, the Lease heartbeat, hollow nodes, env and volumes."""

from __future__ import annotations

from typing import Any

from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.runtimes.fake import FakeRuntime

from tests.agent.conftest import StartAgent
from tests.integration.helpers import eventually, pod


async def test_node_registers_and_renews_its_lease(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    agent = await start_agent(labels={"zone": "a"})
    node = await shoal_client.get("Node", "node-1")
    labels = node.metadata.labels
    assert labels["kubernetes.io/hostname"] == "node-1" and labels["zone"] == "a"
    assert labels["kubernetes.io/os"] == "linux" and labels["kubernetes.io/arch"]
    assert dict(node.status.capacity) == {"cpu": "4", "memory": "8Gi", "pods": "30"}
    assert dict(node.status.allocatable) == dict(node.status.capacity)
    assert {(a.type, a.address) for a in node.status.addresses} == {
        ("InternalIP", "127.0.0.1"),
        ("Hostname", "node-1"),
    }
    assert node.status.daemon_endpoints.kubelet_endpoint.port == agent.stream_port
    assert node.status.node_info.container_runtime_version.startswith("fake://")
    assert node.status.node_info.kubelet_version.startswith("v")
    (ready,) = node.status.conditions
    assert (ready.type, ready.status, ready.reason) == ("Ready", "True", "KubeletReady")
    lease = await shoal_client.get("Lease", "node-1", "kube-node-lease")
    assert lease.spec.holder_identity == "node-1" and lease.spec.lease_duration_seconds == 40
    first = int(lease.metadata.resource_version)

    async def renewed() -> bool:
        again = await shoal_client.get("Lease", "node-1", "kube-node-lease")
        return int(again.metadata.resource_version) > first

    await eventually(renewed)


async def test_hollow_nodes_each_have_node_and_lease_and_run_pods(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    agent = await start_agent(name="hollow", hollow_nodes=5)
    names = sorted(agent.nodes)
    assert names == [f"hollow-{i:04d}" for i in range(5)]
    nodes = (await shoal_client.list("Node")).items
    assert {n.metadata.name for n in nodes} >= set(names)
    for name in names:
        await shoal_client.create(pod(f"p-{name}", node=name))
    await shoal_client.create(pod("unbound"))  # no node: nobody runs it

    async def all_running() -> bool:
        pods = (await shoal_client.list("Pod", "default")).items
        return sum(p.status.phase == "Running" for p in pods) == 5

    await eventually(all_running)
    pods = {p.metadata.name: p for p in (await shoal_client.list("Pod", "default")).items}
    assert pods["p-hollow-0003"].status.pod_ip.startswith("10.128.3.")
    assert pods["unbound"].status.phase == "Pending"
    leases = (await shoal_client.list("Lease", "kube-node-lease")).items
    assert {lease.metadata.name for lease in leases} >= set(names)


def _obj(manifest: dict[str, Any]) -> Any:
    return from_dict(manifest)


async def test_env_and_volumes_from_configmaps_secrets_and_services(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    runtime = FakeRuntime()
    await start_agent(runtime=runtime)
    await shoal_client.create(
        _obj(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg"},
                "data": {"mode": "fast", "app.conf": "x=1\n"},
            }
        )
    )
    await shoal_client.create(
        _obj(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "sec"},
                "stringData": {"password": "hunter2"},
            }
        )
    )
    svc = await shoal_client.create(
        _obj(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "redis-primary"},
                "spec": {"clusterIP": "10.96.0.9", "ports": [{"name": "db", "port": 6379}]},
            }
        )
    )
    assert svc.spec.cluster_ip == "10.96.0.9"
    p = _obj(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "env", "labels": {"app": "x"}},
            "spec": {
                "nodeName": "node-1",
                "containers": [
                    {
                        "name": "main",
                        "image": "busybox:1.36",
                        "env": [
                            {
                                "name": "MODE",
                                "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}},
                            },
                            {
                                "name": "PASS",
                                "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}},
                            },
                            {
                                "name": "POD",
                                "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                            },
                            {
                                "name": "APP",
                                "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}},
                            },
                            {"name": "GREETING", "value": "mode is $(MODE)"},
                        ],
                        "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "cfg"}}],
                        "volumeMounts": [
                            {"name": "conf", "mountPath": "/etc/app"},
                            {"name": "scratch", "mountPath": "/scratch"},
                            {"name": "creds", "mountPath": "/creds", "readOnly": True},
                        ],
                    }
                ],
                "volumes": [
                    {"name": "conf", "configMap": {"name": "cfg"}},
                    {"name": "scratch", "emptyDir": {}},
                    {"name": "creds", "secret": {"secretName": "sec"}},
                ],
            },
        }
    )
    await shoal_client.create(p)
    await eventually(lambda: _running(shoal_client, "env"))
    ((cid, container),) = runtime.containers.items()
    env = container.config.env
    assert env["MODE"] == "fast" and env["PASS"] == "hunter2" and env["POD"] == "env"
    assert env["APP"] == "x" and env["GREETING"] == "mode is fast"
    assert env["CFG_mode"] == "fast"
    assert env["REDIS_PRIMARY_SERVICE_HOST"] == "10.96.0.9"
    assert env["REDIS_PRIMARY_SERVICE_PORT"] == "6379"
    assert env["REDIS_PRIMARY_SERVICE_PORT_DB"] == "6379"
    assert env["REDIS_PRIMARY_PORT"] == "tcp://10.96.0.9:6379"
    result = await runtime.exec_sync(cid, ["cat", "/etc/app/app.conf", "/creds/password"], 1)
    assert result.stdout == b"x=1\nhunter2"
    await runtime.exec_sync(cid, ["touch", "/scratch/made"], 1)
    assert (await runtime.exec_sync(cid, ["ls", "/scratch"], 1)).stdout == b"made\n"


async def _running(client: Client, name: str) -> bool:
    return (await client.get("Pod", name)).status.phase == "Running"


async def test_missing_configmap_and_never_pulled_image_wait_with_reasons(
    shoal_client: Client, start_agent: StartAgent
) -> None:
    await start_agent()
    p = pod("nocfg", node="node-1")
    ref = p.spec.containers[0].env.add(name="X")
    ref.value_from.config_map_key_ref.name = "absent"
    ref.value_from.config_map_key_ref.key = "k"
    await shoal_client.create(p)
    never = pod("never", node="node-1", image="x:1")
    never.spec.containers[0].image_pull_policy = "Never"
    await shoal_client.create(never)

    async def waiting(name: str, reason: str) -> Any:
        got = await shoal_client.get("Pod", name)
        c = got.status.container_statuses
        return c[0].state.waiting if c and c[0].state.waiting.reason == reason else None

    w = await eventually(lambda: waiting("nocfg", "CreateContainerConfigError"))
    assert w.message == 'configmap "absent" not found'
    w = await eventually(lambda: waiting("never", "ErrImageNeverPull"))
    assert w.message == 'image "x:1" not present and pull policy is Never'
    events = (await shoal_client.list("Event", "default")).items
    assert ("ErrImageNeverPull", 'image "x:1" not present and pull policy is Never') in {
        (e.reason, e.message) for e in events
    }
