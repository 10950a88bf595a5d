"""``shoal simulate --from-cluster`` against a running cluster (server,
control plane, three hollow nodes): the simulation starts from its nodes and
workloads, in a ``shoal`` process of its own as a user runs it."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest
from shoal.agent.testing import Cluster
from shoal.manifest import from_dict

from tests.integration.helpers import eventually

WEB = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "replicas": 6,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "shoal.local/hello:v1",
                        "resources": {"requests": {"cpu": "100m"}},
                    }
                ]
            },
        },
    },
}


async def shoal(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from shoal.ctl.main import main; sys.exit(main())",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.timeout(600)  # a safety net only
async def test_what_if_a_node_of_the_live_cluster_dies(shoal_cluster: Cluster) -> None:
    client = shoal_cluster.client
    victim = shoal_cluster.nodes[1]
    await client.patch("Node", victim, {"metadata": {"labels": {"tier": "gold"}}})
    await client.create(from_dict(WEB))

    async def running() -> bool:
        pods = (await client.list("Pod", "default")).items
        return len([p for p in pods if p.status.phase == "Running"]) == 6

    await eventually(running, timeout=60)
    code, out, err = await shoal(
        "--server",
        f"127.0.0.1:{shoal_cluster.server.port}",
        "simulate",
        "--from-cluster",
        "--kill-node",
        f"{victim}@30s",
        "--for",
        "8m",
        "-o",
        "json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["nodes"] == len(shoal_cluster.nodes)
    [killed] = report["disruptions"]
    assert killed["node"] == victim and killed["podsOnNode"] > 0
    assert killed["evicted"] == killed["podsOnNode"]
    assert killed["rescheduled"] == killed["evicted"]
    assert (report["running"], report["pending"]) == (6, 0)
    # the live cluster was only read
    assert len((await client.list("Deployment", "default")).items) == 1


async def test_from_cluster_with_a_bad_time_is_a_usage_error(shoal_cluster: Cluster) -> None:
    code, _, err = await shoal(
        "--server",
        f"127.0.0.1:{shoal_cluster.server.port}",
        "simulate",
        "--from-cluster",
        "--kill-node",
        "x@soon",
    )
    assert code == 2 and "invalid duration" in err and "Traceback" not in err
