"""The job-tracking finalizer: a finished pod is counted exactly once, however
early it is deleted and wherever the controller restarts."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from shoal.agent.testing import start_cluster, stop_cluster
from shoal.client import Client
from shoal.plugins.controllers import job_util as ju
from shoal.plugins.controllers.job import JobController
from shoal.plugins.controllers.job_tracking import TRACKING

from tests.controllers.helpers import running
from tests.controllers.test_job import OPTIONS, finished, job
from tests.integration.helpers import eventually


async def test_pod_deleted_right_after_it_succeeds_still_counts(tmp_path: Path) -> None:
    # A long batch period: the controller looks at the job's pods only
    # seconds after the pod ended, when the test has long deleted it.
    options = {**OPTIONS, "job_sync_batch_period": 3.0}
    c = await start_cluster(tmp_path, nodes=1, controller_options=options)
    client = c.client
    created: list[str] = []
    deleted = asyncio.Event()

    async def delete_when_done() -> None:
        async for event in client.watch("Pod", "default"):
            pod = event.object
            if pod is None:
                continue
            if event.type == "ADDED":
                created.append(pod.metadata.name)
                assert TRACKING in pod.metadata.finalizers
            if pod.status.phase == "Succeeded" and not pod.metadata.HasField("deletion_timestamp"):
                await client.delete("Pod", pod.metadata.name, "default", grace_period_seconds=0)
                deleted.set()

    watcher = asyncio.create_task(delete_when_done())
    try:
        await client.create(job("quick", "echo done"))
        await asyncio.wait_for(deleted.wait(), 30)
        done = await finished(client, "quick", "Complete")
        assert (done.status.succeeded, done.status.failed) == (1, 0)
        assert not done.status.uncounted_terminated_pods.succeeded
        # The deleted pod was counted: no second pod was made for it, and it
        # is gone once its finalizer came off.
        assert len(created) == 1
        await eventually(lambda: _no_pods(client), timeout=10)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await stop_cluster(c)


async def _no_pods(client: Client) -> bool:
    return not (await client.list("Pod", "default")).items


async def _job_pod(client: Client, owner: Any, name: str, *, tracked: bool) -> Any:
    """A pod of ``owner`` as its controller would have made it, Succeeded."""
    pod = ju.new_pod(owner, None)
    pod.metadata.generate_name = ""
    pod.metadata.name = name
    if not tracked:
        pod.metadata.ClearField("finalizers")
    pod = await client.create(pod)
    pod.status.phase = "Succeeded"
    return await client.update_status(pod)


async def _drop_finalizer(client: Client, pod: Any) -> None:
    pod = await client.get("Pod", pod.metadata.name, "default")
    del pod.metadata.finalizers[:]
    await client.update(pod)


async def _record(client: Client, name: str, succeeded: int, uncounted: list[str]) -> Any:
    """Write the job's status as a controller that stopped midway left it."""
    j = await client.get("Job", name)
    j.status.succeeded = succeeded
    j.status.start_time.GetCurrentTime()
    j.status.uncounted_terminated_pods.succeeded.extend(uncounted)
    return await client.update_status(j)


async def test_restart_after_recording_uids_counts_each_pod_once(shoal_client: Client) -> None:
    """A controller stopped after writing uncounted uids: one pod's finalizer
    was removed and the pod is gone, another still holds it; a third was
    counted before and a fourth has just finished."""
    client = shoal_client
    owner = await client.create(job("resumed", completions=4, parallelism=4))
    counted = await _job_pod(client, owner, "counted", tracked=False)
    gone = await _job_pod(client, owner, "gone", tracked=True)
    holding = await _job_pod(client, owner, "holding", tracked=True)
    await _job_pod(client, owner, "fresh", tracked=True)
    await _drop_finalizer(client, gone)
    await client.delete("Pod", "gone", "default")
    await _record(client, "resumed", 1, [gone.metadata.uid, holding.metadata.uid])
    assert counted.metadata.uid  # counted in status.succeeded = 1 above

    async with running(JobController(client, options={"job_sync_batch_period": 0.05})):
        done = await finished(client, "resumed", "Complete", timeout=20)
    assert (done.status.succeeded, done.status.failed) == (4, 0)
    assert not done.status.uncounted_terminated_pods.succeeded
    pods = (await client.list("Pod", "default")).items
    assert sorted(p.metadata.name for p in pods) == ["counted", "fresh", "holding"]
    assert all(TRACKING not in p.metadata.finalizers for p in pods)


async def test_finalizers_leave_pods_of_a_deleted_job(shoal_client: Client) -> None:
    """Pods whose job is gone are not held by the finalizer forever."""
    client = shoal_client
    owner = await client.create(job("short-lived", completions=2, parallelism=2))
    await _job_pod(client, owner, "left", tracked=True)
    await client.delete("Job", "short-lived", "default")
    async with running(JobController(client)):
        await client.delete("Pod", "left", "default")
        await eventually(lambda: _no_pods(client), timeout=10)


class _InformerFirstClient:
    """A client whose pod updates return only once the controller's pod
    informer has seen them: the watch event of a finalizer removal racing
    ahead of the removal's own reply, as it does under load."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.controller: JobController | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    async def update(self, obj: Any) -> Any:
        updated = await self.client.update(obj)
        assert self.controller is not None
        pods = self.controller.pods

        def seen() -> bool:
            cached = pods.get(updated.metadata.name, updated.metadata.namespace)
            return cached is None or TRACKING not in cached.metadata.finalizers

        await eventually(seen, timeout=10)
        return updated


async def test_pods_released_in_a_sync_are_counted_in_that_sync(shoal_client: Client) -> None:
    """The informer may see a finalizer come off before the removal returns:
    the pod was still taken for one holding it, its uid stayed uncounted, and
    the job completed only a batch period later, after one more status write."""
    client = shoal_client
    owner = await client.create(job("raced", completions=3, parallelism=3))
    for name in ("raced-a", "raced-b", "raced-c"):
        await _job_pod(client, owner, name, tracked=True)
    proxy = _InformerFirstClient(client)
    # No second sync within the test: pod changes wait a minute to be looked at.
    controller = JobController(proxy, options={"job_sync_batch_period": 60.0})
    proxy.controller = controller
    async with running(controller):
        done = await finished(client, "raced", "Complete", timeout=15)
    assert (done.status.succeeded, done.status.failed) == (3, 0)
    assert not done.status.uncounted_terminated_pods.succeeded


async def test_concurrent_job_syncs_sets_the_workers(shoal_client: Client) -> None:
    """The control plane option (Kubernetes' --concurrent-job-syncs); a value
    that is not a whole number of at least 1 is refused by name."""
    assert JobController(shoal_client).workers == 64
    assert JobController(shoal_client, options={"concurrent_job_syncs": 3}).workers == 3
    for bad in (0, -1, "8", 2.5, True):
        with pytest.raises(ValueError, match="concurrent_job_syncs must be a whole number"):
            JobController(shoal_client, options={"concurrent_job_syncs": bad})
