"""The in-process channel (``APIServer.in_process_channel``), which the
control plane of ``shoal server`` calls the API through: the same answers
as over the network — objects, errors with their causes, counts, limits,
deadlines, watches — without the loopback connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from shoal import auth, errors
from shoal.api.v1 import api_pb2, api_pb2_grpc, core_pb2
from shoal.apiserver.fairness import RequestLimits
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.metrics import REGISTRY
from shoal.store.sqlite import SQLiteStore

from tests.integration.helpers import collect, eventually

LIMIT = 64 * 1024  # the request size limit of these tests' server


@dataclass
class Pair:
    server: APIServer
    network: Client
    local: Client


@pytest_asyncio.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    server = APIServer(
        SQLiteStore(tmp_path / "state.db", compact_interval=0),
        limits=RequestLimits(max_request_bytes=LIMIT),
    )
    port = await server.start("127.0.0.1:0")
    network = Client(f"127.0.0.1:{port}")
    local = Client("in-process", channel=server.in_process_channel())
    try:
        yield Pair(server, network, local)
    finally:
        await local.close()
        await network.close()
        await server.stop(grace=0)


def config_map(name: str, **data: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap()
    cm.metadata.name, cm.metadata.namespace = name, "default"
    cm.data.update(data)
    return cm


def created_config_maps() -> float:
    wanted = {"verb": "POST", "resource": "configmaps", "code": "201"}.items()
    return sum(
        s.value
        for family in REGISTRY.collect()
        for s in family.samples
        if s.name == "apiserver_request_total" and wanted <= s.labels.items()
    )


async def test_an_object_made_in_process_is_stored_counted_and_owned_as_over_the_network(
    pair: Pair,
) -> None:
    before = created_config_maps()
    made = await pair.local.create(config_map("local", a="1"))
    assert created_config_maps() == before + 1
    read = await pair.network.get("ConfigMap", "local")
    assert read == made
    assert dict(read.data) == {"a": "1"}
    # the user agent names the field manager, as shoal's own client's does
    assert [m.manager for m in read.metadata.managed_fields] == ["shoal"]


async def test_errors_in_process_carry_the_code_message_and_causes_the_network_does(
    pair: Pair,
) -> None:
    for call in (
        lambda c: c.get("ConfigMap", "missing"),
        lambda c: c.create(config_map("Not_A_Name")),
    ):
        with pytest.raises(errors.APIError) as over_network:
            await call(pair.network)
        with pytest.raises(errors.APIError) as in_process:
            await call(pair.local)
        assert type(in_process.value) is type(over_network.value)
        assert str(in_process.value) == str(over_network.value)
        assert in_process.value.causes == over_network.value.causes


async def test_a_request_over_the_size_limit_is_refused_in_process_as_over_the_network(
    pair: Pair,
) -> None:
    huge = config_map("huge", blob="x" * (2 * LIMIT))
    for client in (pair.network, pair.local):
        with pytest.raises(errors.APIError) as refused:
            await client.create(huge)
        assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(errors.NotFoundError):
        await pair.network.get("ConfigMap", "huge")


async def test_a_call_past_its_deadline_is_deadline_exceeded(pair: Pair) -> None:
    stub = api_pb2_grpc.DiscoveryStub(pair.server.in_process_channel())
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await stub.ListKinds(api_pb2.ListKindsRequest(), timeout=0)
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert (await stub.Version(api_pb2.VersionRequest(), timeout=5)).store == "sqlite"


async def test_the_handler_runs_in_a_context_of_its_own(pair: Pair) -> None:
    """What the server's interceptors set (the current user) stays on the
    server's side, as it does on a server's own task."""
    assert auth.current_user() is None
    await pair.local.create(config_map("ctx"))
    assert auth.current_user() is None


async def test_a_watch_in_process_streams_changes_and_ends_when_the_server_stops(
    pair: Pair,
) -> None:
    events = pair.local.watch("ConfigMap", "default")
    first = collect(events, 1)
    made = await pair.network.create(config_map("watched"))
    (added,) = await first
    assert (added.type, added.object.metadata.uid) == ("ADDED", made.metadata.uid)
    await pair.server.stop(grace=0)
    with pytest.raises(errors.UnavailableError):
        await collect(events, 1)
    with pytest.raises(errors.UnavailableError):
        await pair.local.version()


async def test_a_cancelled_watch_ends_on_the_server_too(pair: Pair) -> None:
    channel = pair.server.in_process_channel()
    stub = api_pb2_grpc.ObjectsStub(channel)
    call = stub.Watch(api_pb2.WatchRequest(kind="ConfigMap", namespace="default"))
    await pair.network.create(config_map("seen"))
    assert (await call.read()).events[0].type == "ADDED"
    assert call.cancel()
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await call.read()
    assert ended.value.code() == grpc.StatusCode.CANCELLED
    dispatcher = pair.server._dispatcher
    assert dispatcher is not None
    await eventually(lambda: not dispatcher._streams)  # the server's side ended


async def test_client_streaming_methods_say_they_are_not_offered_in_process(pair: Pair) -> None:
    channel = pair.server.in_process_channel()
    call = channel.stream_stream("/shoal.api.v1.Streams/Exec")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        call(iter(()))
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "use the network address" in (refused.value.details() or "")
