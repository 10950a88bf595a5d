"""Bad input gets a clear error and changes nothing: malformed bytes, unknown
fields, unknown kinds, and (hypothesis) random objects thrown at the API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.any_pb2 import Any as AnyProto
from hypothesis import given, settings
from hypothesis import strategies as st
from shoal.api.v1 import api_pb2, api_pb2_grpc, core_pb2
from shoal.testing import start_server


class ServerThread:
    """A real API server on its own event loop, for synchronous tests."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = self.run(start_server(data_dir))

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def revision(self) -> int:
        return int(self.run(self.server.store.current_revision()))

    def stop(self) -> None:
        self.run(self.server.stop(grace=0))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, Any]]:
    server = ServerThread(tmp_path_factory.mktemp("api"))
    channel = grpc.insecure_channel(f"127.0.0.1:{server.server.port}")
    try:
        yield server, api_pb2_grpc.ObjectsStub(channel)
    finally:
        channel.close()
        server.stop()


def create_raw(stub: Any, type_url: str, value: bytes) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failed:
        stub.Create(api_pb2.CreateRequest(object=AnyProto(type_url=type_url, value=value)))
    return failed.value


def test_malformed_bytes(api: tuple[ServerThread, Any]) -> None:
    server, stub = api
    before = server.revision()
    err = create_raw(stub, "type.googleapis.com/shoal.v1.Pod", b"\xff\xff\xff\xff")
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed Pod" in err.details()
    assert server.revision() == before


def test_unknown_fields_are_named(api: tuple[ServerThread, Any]) -> None:
    _, stub = api
    pod = core_pb2.Pod()
    pod.metadata.name = "x"
    pod.spec.containers.add(name="c", image="busybox")
    value = pod.SerializeToString() + b"\xb8\x3e\x01"  # field 999, varint 1
    err = create_raw(stub, "type.googleapis.com/shoal.v1.Pod", value)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown field(s) in Pod: Pod field #999" in err.details()


def test_unknown_kind_and_missing_object(api: tuple[ServerThread, Any]) -> None:
    _, stub = api
    err = create_raw(stub, "type.googleapis.com/shoal.v1.Gizmo", b"")
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert 'no kind is registered for the type "shoal.v1.Gizmo"' in err.details()
    err = create_raw(stub, "", b"")
    assert "carries no object" in err.details()


def test_patch_that_is_not_json(api: tuple[ServerThread, Any]) -> None:
    server, stub = api
    before = server.revision()
    with pytest.raises(grpc.RpcError) as failed:
        stub.Patch(
            api_pb2.PatchRequest(
                key=api_pb2.ObjectKey(kind="ns", name="default"), patch=b"{not json"
            )
        )
    assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not valid JSON" in failed.value.details()
    assert server.revision() == before


names = st.text(alphabet=st.sampled_from("abcXYZ019-._/ "), min_size=0, max_size=70)
label_maps = st.dictionaries(names, names, max_size=3)
images = st.sampled_from(["", " ", "busybox", "busybox:1.36", "x" * 300])
ports = st.integers(min_value=-5, max_value=70000)


@st.composite
def pods(draw: st.DrawFn) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = draw(names)
    pod.metadata.labels.update(draw(label_maps))
    for i in range(draw(st.integers(0, 2))):
        container = pod.spec.containers.add(
            name=draw(st.sampled_from(["c", "C", f"c{i}", ""])), image=draw(images)
        )
        container.ports.add(container_port=draw(ports))
    pod.spec.restart_policy = draw(st.sampled_from(["", "Always", "Sometimes"]))
    return pod


@settings(max_examples=60)  # fewer than the suite's 100: each is a server round trip
@given(pod=pods())
def test_random_pods_are_stored_whole_or_refused_cleanly(
    api: tuple[ServerThread, Any], pod: core_pb2.Pod
) -> None:
    server, stub = api
    before = server.revision()
    request = api_pb2.CreateRequest()
    request.object.Pack(pod)
    try:
        answer = stub.Create(request)
    except grpc.RpcError as err:
        assert err.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS), (
            err.details()
        )
        assert err.details() and "Traceback" not in err.details()
        assert server.revision() == before  # refused: nothing changed
        return
    stored = core_pb2.Pod()
    answer.object.Unpack(stored)
    assert stored.metadata.name == pod.metadata.name
    assert server.revision() == before + 1
    stub.Delete(
        api_pb2.DeleteRequest(
            key=api_pb2.ObjectKey(kind="pods", name=pod.metadata.name, namespace="default")
        )
    )


def test_unknown_fields_deep_inside_are_named(api: tuple[ServerThread, Any]) -> None:
    server, stub = api
    before = server.revision()
    container = core_pb2.Container(name="c", image="busybox").SerializeToString()
    container += b"\xb8\x3e\x01"  # field 999, varint 1, inside the container
    spec = b"\x12" + bytes([len(container)]) + container  # PodSpec.containers = 2
    pod = core_pb2.Pod()
    pod.metadata.name = "x"
    value = pod.SerializeToString() + b"\x22" + bytes([len(spec)]) + spec  # Pod.spec = 4
    err = create_raw(stub, "type.googleapis.com/shoal.v1.Pod", value)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown field(s) in Pod: Pod.spec.containers field #999" in err.details()
    assert server.revision() == before
