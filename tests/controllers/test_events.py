"""EventRecorder against a real API server: fields, aggregation, no raising."""

from __future__ import annotations

from shoal.client import Client
from shoal.events import EventRecorder

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
