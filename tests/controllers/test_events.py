"""EventRecorder against a real API server: fields, aggregation, no raising."""

from __future__ import annotations

from typing import Any

from shoal.client import Client
from shoal.events import AGGREGATE_MAX_EVENTS, COMBINED, EventRecorder

from tests.integration.helpers import pod


async def test_an_event_names_its_object_and_source(shoal_client: Client) -> None:
    web = await shoal_client.create(pod("web"))
    recorder = EventRecorder(shoal_client, "tester", host="node-1")
    await recorder.record(web, "Normal", "Pulled", "Pulled image busybox")
    [event] = (await shoal_client.list("Event", "default")).items
    ref = event.involved_object
    assert (ref.kind, ref.name, ref.namespace, ref.uid) == (
        "Pod",
        "web",
        "default",
        web.metadata.uid,
    )
    assert (event.type, event.reason, event.message, event.count) == (
        "Normal",
        "Pulled",
        "Pulled image busybox",
        1,
    )
    assert (event.source.component, event.source.host) == ("tester", "node-1")
    assert event.first_timestamp.seconds > 0
    assert event.last_timestamp == event.first_timestamp


async def test_repeats_aggregate_into_one_event(shoal_client: Client) -> None:
    web = await shoal_client.create(pod("web"))
    recorder = EventRecorder(shoal_client, "tester")
    for _ in range(3):
        await recorder.record(web, "Warning", "BackOff", "Back-off restarting")
    await recorder.record(web, "Warning", "BackOff", "something else")
    events = (await shoal_client.list("Event", "default")).items
    counts = sorted((e.message, e.count) for e in events)
    assert counts == [("Back-off restarting", 3), ("something else", 1)]


async def test_emit_writes_in_the_background(shoal_client: Client) -> None:
    web = await shoal_client.create(pod("web"))
    recorder = EventRecorder(shoal_client, "tester")
    for _ in range(5):
        recorder.emit(web, "Normal", "Started", "Started container main")
    await recorder.flush()
    [event] = (await shoal_client.list("Event", "default")).items
    assert event.count == 5


async def test_cluster_scoped_objects_get_events_in_default(shoal_client: Client) -> None:
    ns = await shoal_client.get("Namespace", "default")
    await EventRecorder(shoal_client, "tester").record(ns, "Normal", "Checked", "ok")
    [event] = (await shoal_client.list("Event", "default")).items
    assert event.involved_object.kind == "Namespace"


async def test_a_failed_write_is_logged_not_raised(shoal_client: Client) -> None:
    ghost = pod("ghost", namespace="no-such-namespace")
    recorder = EventRecorder(shoal_client, "tester")
    await recorder.record(ghost, "Normal", "Created", "x")  # must not raise
    await recorder.record(ghost, "Bogus", "Created", "x")
    assert (await shoal_client.list("Event", "")).items == []


class _Counting:
    """The real client, counting the Event writes that go through it."""

    def __init__(self, client: Client) -> None:
        self.client, self.writes = client, 0

    async def create(self, obj: Any) -> Any:
        self.writes += 1
        return await self.client.create(obj)

    async def patch(self, *args: Any) -> Any:
        self.writes += 1
        return await self.client.patch(*args)


async def test_similar_events_combine_after_ten_messages(shoal_client: Client) -> None:
    rs = await shoal_client.create(pod("web"))
    recorder = EventRecorder(shoal_client, "replicaset-controller")
    for i in range(25):
        await recorder.record(rs, "Normal", "SuccessfulCreate", f"Created pod: web-{i}")
    events = (await shoal_client.list("Event", "default")).items
    single = sorted(e.message for e in events if e.count == 1 and "combined" not in e.message)
    assert single == sorted(f"Created pod: web-{i}" for i in range(AGGREGATE_MAX_EVENTS - 1))
    [combined] = [e for e in events if e.message.startswith(COMBINED)]
    assert combined.count == 25 - (AGGREGATE_MAX_EVENTS - 1)
    assert combined.message == COMBINED + "Created pod: web-24"  # the newest
    assert sum(e.count for e in events) == 25


async def test_a_burst_of_repeats_coalesces_into_few_writes(shoal_client: Client) -> None:
    web = await shoal_client.create(pod("web"))
    counting = _Counting(shoal_client)
    recorder = EventRecorder(counting, "kubelet")
    for _ in range(100):
        recorder.emit(web, "Normal", "Started", "Started container main")
    await recorder.flush()
    [event] = (await shoal_client.list("Event", "default")).items
    assert event.count == 100
    assert counting.writes <= 3  # the create, then one patch for all that queued behind it


async def test_similar_events_of_other_objects_stay_apart(shoal_client: Client) -> None:
    recorder = EventRecorder(shoal_client, "kubelet")
    for i in range(AGGREGATE_MAX_EVENTS + 2):
        p = await shoal_client.create(pod(f"p-{i}"))
        await recorder.record(p, "Normal", "Scheduled", f"Assigned default/p-{i} to n1")
    events = (await shoal_client.list("Event", "default")).items
    assert len(events) == AGGREGATE_MAX_EVENTS + 2
    assert not any(e.message.startswith(COMBINED) for e in events)
