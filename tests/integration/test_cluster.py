"""The whole cluster in one process (``shoal.agent.testing.shoal_cluster``): a
deployment's pods are scheduled onto hollow nodes and run; a deleted pod comes
back; deleting the deployment cleans up."""

from __future__ import annotations

from shoal.agent.testing import Cluster

from tests.integration.helpers import eventually, obj

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.25",
                        "resources": {"requests": {"cpu": "100m"}},
                    }
                ]
            },
        },
    },
}


async def running_pods(cluster: Cluster) -> list[object]:
    pods = (await cluster.client.list("pods", "default", label_selector="app=web")).items
    return [
        p
        for p in pods
        if p.status.phase == "Running" and not p.metadata.HasField("deletion_timestamp")
    ]


async def test_deployment_runs_on_hollow_nodes(shoal_cluster: Cluster) -> None:
    client = shoal_cluster.client
    await client.create(obj(DEPLOYMENT))

    async def three_running() -> list[object]:
        pods = await running_pods(shoal_cluster)
        return pods if len(pods) == 3 else []

    pods = await eventually(three_running, timeout=30)
    assert {p.spec.node_name for p in pods} <= set(shoal_cluster.nodes)  # type: ignore[attr-defined]
    deploy = await eventually(lambda: _available(client), timeout=30)
    assert deploy.status.available_replicas == 3

    victim = pods[0].metadata.name  # type: ignore[attr-defined]
    await client.delete("pods", victim)

    async def replaced() -> bool:
        names = {p.metadata.name for p in await running_pods(shoal_cluster)}  # type: ignore[attr-defined]
        return len(names) == 3 and victim not in names

    await eventually(replaced, timeout=30)

    await client.delete("deployments", "web")

    async def cleaned_up() -> bool:
        left = await client.list("pods", "default", label_selector="app=web")
        return not left.items

    await eventually(cleaned_up, timeout=30)


async def _available(client: object) -> object:
    deploy = await client.get("deployments", "web")  # type: ignore[attr-defined]
    return deploy if deploy.status.available_replicas == 3 else None
