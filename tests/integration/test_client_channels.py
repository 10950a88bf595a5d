"""A client's connections are its own: a new Client to an address whose
earlier server has stopped reaches the server listening there now, though an
older Client to that address is still open (gRPC shares connections across a
process's channels by default, and the new channel inherited the old one's
back-off: "failed to connect to all addresses ... Connection refused")."""

from __future__ import annotations

from pathlib import Path

from shoal import errors
from shoal.apiserver.server import APIServer
from shoal.client import Client
from shoal.store.sqlite import SQLiteStore


async def _serve(data_dir: Path, address: str) -> APIServer:
    data_dir.mkdir()
    server = APIServer(SQLiteStore(data_dir / "state.db", compact_interval=0))
    await server.start(address)
    return server


async def test_a_new_client_reaches_the_server_that_took_over_the_address(
    tmp_path: Path,
) -> None:
    first = await _serve(tmp_path / "first", "127.0.0.1:0")
    target = f"127.0.0.1:{first.port}"
    old = Client(target)
    try:
        await old.version()
        await first.stop(grace=0)
        try:
            await old.version()
            raise AssertionError("the stopped server answered")
        except errors.UnavailableError:
            pass  # the old client's connection is now in back-off
        second = await _serve(tmp_path / "second", target)
        try:
            async with Client(target) as new:
                assert (await new.version()).store == "sqlite"
        finally:
            await second.stop(grace=0)
    finally:
        await old.close()
