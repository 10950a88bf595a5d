"""spec.managedBy: a Job another controller manages (Kueue's MultiKueue,
say) is left alone by shoal's job controller, as Kubernetes' is."""

from __future__ import annotations

from shoal.agent.testing import Cluster

from tests.controllers.test_job import cluster, finished, job, pods_of

__all__ = ["cluster"]  # the fixture


async def test_a_job_managed_elsewhere_gets_no_pods_and_no_status(cluster: Cluster) -> None:
    client = cluster.client
    # Created first, so the controller has looked at it before the other is done.
    elsewhere = await client.create(job("elsewhere", managedBy="example.com/batch"))
    assert elsewhere.spec.managed_by == "example.com/batch"
    await client.create(job("here", managedBy="kubernetes.io/job-controller"))
    await finished(client, "here", "Complete")
    left = await client.get("Job", "elsewhere")
    assert await pods_of(client, "elsewhere") == []
    assert not left.status.HasField("start_time") and list(left.status.conditions) == []
