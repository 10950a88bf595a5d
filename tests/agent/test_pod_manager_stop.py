"""A stopped node starts no pod worker for an event its informer delivers
late: such a worker kept creating containers after the agent stopped (seen
as a pod left burning CPU after an end-to-end test's teardown)."""

from __future__ import annotations

from types import SimpleNamespace

from shoal.agent.podsync import PodManager

from tests.integration.helpers import pod


async def test_a_stopped_node_starts_no_worker_for_a_late_pod() -> None:
    manager = PodManager(SimpleNamespace(node="n1"), relist_interval=1.0)  # type: ignore[arg-type]
    await manager.stop()
    late = pod("late")
    late.metadata.uid = "u-late"
    manager.pod_added(late)
    manager.pod_updated(late, late)
    assert manager.workers == {}
