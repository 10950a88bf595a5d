"""``shoal server`` as a person runs it: a process that writes its admin
config (mode 0600), answers health checks and reflection, stops on SIGTERM,
and loses nothing it acknowledged when killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from shoal import config, errors
from shoal.client import Client, channel_credentials

from tests.integration.helpers import eventually, pod


def start(data_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shoal.ctl.main",
            "server",
            "--data-dir",
            str(data_dir),
            "--listen",
            "127.0.0.1:0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir.parent / "server.log", "ab"),
    )


async def address_of(data_dir: Path, proc: subprocess.Popen[bytes]) -> str:
    conf = data_dir / "admin.conf"

    def ready() -> str:
        assert proc.poll() is None, "server exited"
        if not conf.exists():
            return ""
        return str(yaml.safe_load(conf.read_text())["clusters"][0]["cluster"]["server"])

    return str(await eventually(ready, timeout=20))


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    path.mkdir()
    yield path


async def test_serves_writes_config_and_stops_on_sigterm(data_dir: Path) -> None:
    proc = start(data_dir)
    try:
        address = await address_of(data_dir, proc)
        mode = stat.S_IMODE(os.stat(data_dir / "admin.conf").st_mode)
        assert mode == 0o600
        version = subprocess.run(
            [
                sys.executable,
                "-m",
                "shoal.ctl.main",
                "--config",
                str(data_dir / "admin.conf"),
                "version",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert version.returncode == 0, version.stderr
        assert "Server Version: v" in version.stdout
        ca = (data_dir / "pki" / "ca.crt").read_bytes()
        with grpc.secure_channel(address, grpc.ssl_channel_credentials(ca)) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="shoal.v1.Objects"), timeout=5
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
        # Reflection, like everything but health, needs credentials.
        admin = config.load(str(data_dir / "admin.conf"))
        with grpc.secure_channel(address, channel_credentials(admin)) as channel:
            reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
            answers = list(
                reflect.ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
                )
            )
            names = {s.name for s in answers[0].list_services_response.service}
            assert {"shoal.v1.Objects", "shoal.v1.Discovery", "grpc.health.v1.Health"} <= names
            # Reflection v1 (what grpcurl and grpc-js ask for first) answers too;
            # its messages are v1alpha's under another package name.
            v1 = channel.stream_stream(
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )
            symbol = reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="shoal.v1.Objects"
            )
            (found,) = list(v1(iter([symbol]), timeout=5))
            assert found.file_descriptor_response.file_descriptor_proto
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_nothing_acknowledged_is_lost_on_sigkill(data_dir: Path) -> None:
    proc = start(data_dir)
    acknowledged: list[str] = []
    try:
        await address_of(data_dir, proc)
        client = Client.from_config(str(data_dir / "admin.conf"))

        async def writer(n: int) -> None:
            i = 0
            while True:
                name = f"w{n}-{i}"
                try:
                    await client.create(pod(name))
                except errors.APIError:
                    return  # the server died under us: this one was never acknowledged
                acknowledged.append(name)
                i += 1

        writers = [asyncio.create_task(writer(n)) for n in range(8)]
        await eventually(lambda: len(acknowledged) >= 200, timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        await asyncio.wait_for(asyncio.gather(*writers), 30)
        await client.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (data_dir / "admin.conf").unlink()
    proc = start(data_dir)
    try:
        await address_of(data_dir, proc)
        async with Client.from_config(str(data_dir / "admin.conf")) as client:
            stored = {p.metadata.name for p in (await client.list("pods")).items}
        missing = [name for name in acknowledged if name not in stored]
        assert not missing, f"{len(missing)} acknowledged creates lost: {missing[:5]}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def shoal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shoal.ctl.main", *args], capture_output=True, text=True, timeout=60
    )


async def test_second_server_on_one_data_dir_is_refused(data_dir: Path, tmp_path: Path) -> None:
    first = start(data_dir)
    try:
        await address_of(data_dir, first)
        async with Client.from_config(str(data_dir / "admin.conf")) as client:
            await client.create(pod("before"))
            second = shoal("server", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0")
            assert second.returncode != 0
            message = second.stderr.strip()
            assert "\n" not in message and "Traceback" not in message
            assert f"in use by pid {first.pid} " in message
            # Restoring into it is refused the same way (saving is not: it only reads).
            backup = tmp_path / "backup.db"
            saved = shoal("snapshot", "save", str(backup), "--data-dir", str(data_dir))
            assert saved.returncode == 0, saved.stderr
            restore = shoal("snapshot", "restore", str(backup), "--data-dir", str(data_dir))
            assert restore.returncode != 0
            assert f"in use by pid {first.pid} " in restore.stderr.strip()
            # The first server never noticed: its writes still land.
            await client.create(pod("after"))
            names = {p.metadata.name for p in (await client.list("pods")).items}
            assert {"before", "after"} <= names
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)
