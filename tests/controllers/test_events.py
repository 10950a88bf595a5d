"""EventRecorder against a real API server: fields, aggregation, no raising."""

from __future__ import annotations

import asyncio
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


class _Slow(_Counting):
    """Counts Event writes in flight at once; each waits until ``go`` is set."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.in_flight = self.most_in_flight = 0
        self.go = asyncio.Event()

    async def create(self, obj: Any) -> Any:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.go.wait()
            return await super().create(obj)
        finally:
            self.in_flight -= 1


async def test_a_recorder_writes_one_event_at_a_time(shoal_client: Client) -> None:
    # An agent starting many pods at once used to send all their Events at
    # once: past gRPC's pending-call bound the server shed calls at random,
    # a controller's pod creates among them ("Error creating: CANCELLED").
    slow = _Slow(shoal_client)
    recorder = EventRecorder(slow, "kubelet", host="n1")
    pods = [await shoal_client.create(pod(f"p-{i}")) for i in range(20)]
    for p in pods:
        recorder.emit(p, "Normal", "Started", "Started container main")
    await _until(lambda: slow.in_flight == 1)
    slow.go.set()
    await recorder.flush()
    assert slow.most_in_flight == 1
    events = (await shoal_client.list("Event", "default")).items
    assert sorted(e.involved_object.name for e in events) == sorted(f"p-{i}" for i in range(20))


async def test_repeats_of_a_waiting_event_count_on_it(shoal_client: Client) -> None:
    slow = _Slow(shoal_client)
    recorder = EventRecorder(slow, "kubelet")
    web, db = await shoal_client.create(pod("web")), await shoal_client.create(pod("db"))
    recorder.emit(web, "Normal", "Started", "Started container main")
    await _until(lambda: slow.in_flight == 1)  # web's Event is being written
    for _ in range(5):
        recorder.emit(db, "Warning", "BackOff", "Back-off restarting")  # waits behind it
    slow.go.set()
    await recorder.flush()
    counts = {e.involved_object.name: e.count for e in (await shoal_client.list("Event")).items}
    assert counts == {"web": 1, "db": 5}
    assert slow.writes == 2


async def test_a_full_queue_drops_new_events_and_counts_them(shoal_client: Client) -> None:
    slow = _Slow(shoal_client)
    recorder = EventRecorder(slow, "kubelet", max_queued=3)
    pods = [await shoal_client.create(pod(f"p-{i}")) for i in range(10)]
    recorder.emit(pods[0], "Normal", "Started", "Started container main")
    await _until(lambda: slow.in_flight == 1)  # out of the queue, being written
    for p in pods[1:]:
        recorder.emit(p, "Normal", "Started", "Started container main")
    recorder.emit(pods[1], "Normal", "Started", "Started container main")  # a repeat: counted
    await recorder.record(pods[9], "Normal", "Started", "dropped: returns at once")
    assert recorder.dropped == 7
    slow.go.set()
    await recorder.flush()
    counts = {e.involved_object.name: e.count for e in (await shoal_client.list("Event")).items}
    assert counts == {"p-0": 1, "p-1": 2, "p-2": 1, "p-3": 1}


async def _until(check: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def test_a_recorder_kept_across_event_loops_still_writes() -> None:
    # A writer task of a loop that has closed never resumes: the next loop's
    # Events must get a writer of their own, not wait behind it forever.
    recorder = EventRecorder(None, "kubelet")
    written: list[str] = []

    class _Client:
        async def create(self, event: Any) -> Any:
            written.append(event.involved_object.name)
            return event

        async def patch(self, *args: Any) -> Any:
            raise AssertionError("no repeats here")

    class _Stuck:
        async def create(self, event: Any) -> Any:
            await asyncio.Event().wait()  # the loop closes during this write

    async def emit_and_leave(name: str) -> None:
        recorder.client = _Stuck()
        recorder.emit(pod(name), "Normal", "Started", "Started container main")
        await asyncio.sleep(0)  # the writer starts its write

    async def record(name: str) -> None:
        recorder.client = _Client()
        await asyncio.wait_for(recorder.record(pod(name), "Normal", "Started", "x"), 10)

    first = asyncio.new_event_loop()
    first.run_until_complete(emit_and_leave("first"))
    first.close()  # closed with its writer in the middle of a write
    asyncio.run(record("second"))
    assert "second" in written
