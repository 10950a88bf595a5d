"""Engine-independent logic of the Docker and Podman runtimes."""

from __future__ import annotations

import struct
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from shoal.plugins.runtimes import engine
from shoal.plugins.runtimes.engine_http import check, demux
from shoal.plugins.runtimes.images import ImageBuildError, build_busybox_tar, has_interpreter
from shoal.runtime import ContainerConfig, ContainerNotFound, PodSandboxConfig, RuntimeFailure

SANDBOX = PodSandboxConfig(name="web", namespace="shop", uid="u-1", attempt=2)


def test_names_read_as_kubernetes_names_them_on_docker() -> None:
    assert engine.sandbox_name(SANDBOX) == "k8s_POD_web_shop_u-1_2"
    config = ContainerConfig(name="nginx", image="x", attempt=3)
    assert engine.container_name(config, SANDBOX) == "k8s_nginx_web_shop_u-1_3"


def test_labels_tie_containers_to_their_pod_and_node() -> None:
    config = ContainerConfig(name="nginx", image="x", labels={"hash": "1"}, annotations={"a": "b"})
    labels = engine.container_labels(config, SANDBOX, "sb-1", "node-a")
    assert labels["io.kubernetes.pod.uid"] == "u-1"
    assert labels["io.kubernetes.container.name"] == "nginx"
    assert labels["io.kubernetes.sandbox.id"] == "sb-1"
    assert labels["io.shoal.node"] == "node-a" and labels["io.shoal.managed"] == "true"
    assert labels["hash"] == "1" and labels["annotation.a"] == "b"
    filters = engine.managed_filter(engine.TYPE_CONTAINER, "node-a")
    assert all(labels[key] == value for key, value in (f.split("=", 1) for f in filters))


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        ([], [], (None, None)),  # the image's ENTRYPOINT and CMD
        (["echo"], [], (["echo"], [])),  # command drops the image's CMD
        ([], ["hi"], (None, ["hi"])),  # args replace CMD only
        (["echo"], ["hi"], (["echo"], ["hi"])),
    ],
)
def test_command_and_args_follow_kubernetes(
    command: list[str], args: list[str], expected: tuple[object, object]
) -> None:
    config = ContainerConfig(name="c", image="x", command=command, args=args)
    assert engine.entrypoint_and_cmd(config) == expected


def test_timestamps_from_either_engine() -> None:
    assert engine.parse_timestamp("0001-01-01T00:00:00Z") == 0.0
    assert engine.parse_timestamp("") == 0.0
    assert engine.parse_timestamp("1970-01-01T00:00:01.500000000Z") == 1.5
    assert engine.parse_timestamp("1970-01-01T01:00:02.25+01:00") == 2.25


def test_status_reasons_from_inspect() -> None:
    inspect = {
        "Id": "c1",
        "Config": {"Labels": {"io.kubernetes.container.name": "app", "io.shoal.attempt": "4"}},
        "State": {"Status": "exited", "ExitCode": 137, "OOMKilled": True},
    }
    status = engine.container_status(inspect)
    assert (status.name, status.state, status.attempt) == ("app", "exited", 4)
    assert (status.exit_code, status.reason) == (137, "OOMKilled")
    inspect["State"] = {"Status": "exited", "ExitCode": 0}
    assert engine.container_status(inspect).reason == "Completed"
    inspect["State"] = {"Status": "configured"}
    assert engine.container_status(inspect).state == "created"


def test_cpu_quota_has_the_kernel_minimum() -> None:
    assert engine.cpu_quota(250) == 25_000
    assert engine.cpu_quota(1) == 1000


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


async def test_demux_splits_frames_across_chunk_boundaries() -> None:
    raw = _frame(1, b"out\n") + _frame(2, b"err\n") + _frame(1, b"more")
    pieces = [raw[:3], raw[3:13], raw[13:]]
    got = [item async for item in demux(_chunks(*pieces), tty=False)]
    assert got == [("stdout", b"out\n"), ("stderr", b"err\n"), ("stdout", b"more")]
    assert [i async for i in demux(_chunks(b"raw"), tty=True)] == [("stdout", b"raw")]


def test_engine_errors_become_contract_errors() -> None:
    with pytest.raises(ContainerNotFound, match="No such container"):
        check(404, b'{"message": "No such container: x"}', "x")
    with pytest.raises(RuntimeFailure) as failure:
        check(409, b'{"message": "Container x is not running"}', "x")
    assert failure.value.reason == "ContainerNotRunning"
    check(200, b"", "x")


def test_busybox_tar_has_applets_as_symlinks(tmp_path: Path) -> None:
    fake = tmp_path / "busybox"
    fake.write_text("#!/bin/sh\necho 'sh\nhttpd\nwget'\n")
    fake.chmod(0o755)
    with tarfile.open(build_busybox_tar(tmp_path / "root.tar", busybox=fake)) as tar:
        names = {member.name: member for member in tar.getmembers()}
    assert names["bin/busybox"].isfile() and names["bin/busybox"].uid == 0
    assert names["bin/httpd"].issym() and names["bin/httpd"].linkname == "busybox"
    assert names["tmp"].mode == 0o1777 and "etc/passwd" in names


def test_dynamic_busybox_is_refused() -> None:
    header = bytearray(64 + 56)
    header[:5] = b"\x7fELF\x02"
    struct.pack_into("<Q", header, 0x20, 64)
    struct.pack_into("<HH", header, 0x36, 56, 1)
    struct.pack_into("<I", header, 64, 3)  # PT_INTERP
    assert has_interpreter(bytes(header))
    struct.pack_into("<I", header, 64, 1)  # PT_LOAD only: static
    assert not has_interpreter(bytes(header))
    with pytest.raises(ImageBuildError):
        has_interpreter(b"#!/bin/sh\n")
