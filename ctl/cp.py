"""``shoal cp``: kubectl cp, files and directories to and from a container,
as a tar archive through exec (the container needs ``tar``).

``shoal cp SRC [NAMESPACE/]POD:DEST`` uploads: the archive goes to ``tar
-xmf - -C DIR`` on the container's stdin. ``shoal cp [NAMESPACE/]POD:SRC
DEST`` downloads what ``tar cf - SRC`` writes, unpacked here with the
``data`` filter, so an archive cannot write outside DEST. As with kubectl,
a DEST that is an existing directory receives SRC under its own name."""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click
from shoal.ctl.resources import with_client

if TYPE_CHECKING:
    from shoal.client import Client

CHUNK = 1 << 16


@dataclass(frozen=True)
class PodPath:
    namespace: str
    pod: str
    path: str


def pod_path(arg: str, namespace: str) -> PodPath | None:
    """``[ns/]pod:/path`` as kubectl reads it; None for a local path."""
    head, sep, path = arg.partition(":")
    if not sep or os.path.exists(arg):
        return None
    parts = head.split("/")
    if len(parts) > 2 or not all(parts) or not path:
        raise click.UsageError(
            f"{arg}: filespec must match the canonical format: [[namespace/]pod:]file/path"
        )
    return PodPath(parts[0] if len(parts) == 2 else namespace, parts[-1], path)


async def exec_bytes(
    client: Client, where: PodPath, container: str, command: list[str],
    stdin: bytes | None = None, out: IO[bytes] | None = None,
) -> tuple[int, bytes]:  # fmt: skip
    """Run ``command``: (exit code, stderr); stdout to ``out``."""
    from shoal.api.v1 import streams_pb2 as s
    from shoal.api.v1 import streams_pb2_grpc
    from shoal.ctl.streams import _rpc_error

    ref = s.ContainerRef(namespace=where.namespace, pod=where.pod, container=container)
    start = s.ExecStart(ref=ref, command=command, stdin=stdin is not None)

    async def requests() -> AsyncIterator[s.ExecInput]:
        yield s.ExecInput(start=start)
        if stdin is not None:
            for at in range(0, len(stdin), CHUNK):
                yield s.ExecInput(stdin=stdin[at : at + CHUNK])
            yield s.ExecInput(close_stdin=True)

    code, err = 0, bytearray()
    try:
        async for reply in streams_pb2_grpc.StreamsStub(client.channel).Exec(requests()):
            if reply.HasField("exit_code"):
                code = reply.exit_code
            elif reply.stdout and out is not None:
                out.write(reply.stdout)
            err.extend(reply.stderr)
    except Exception as failure:
        raise _rpc_error(failure) from None
    return code, bytes(err)


async def upload(client: Client, source: Path, dest: PodPath, container: str) -> None:
    into_dir, _ = await exec_bytes(client, dest, container, ["test", "-d", dest.path])
    if into_dir == 0:
        directory, name = dest.path, source.name
    else:
        directory, name = posixpath.dirname(dest.path) or "/", posixpath.basename(dest.path)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.add(str(source), arcname=name)
    command = ["tar", "-xmf", "-", "-C", directory]
    code, err = await exec_bytes(client, dest, container, command, archive.getvalue())
    if code:
        raise click.ClickException(err.decode(errors="replace").strip() or f"tar exited {code}")


async def download(client: Client, source: PodPath, dest: Path, container: str) -> None:
    with tempfile.TemporaryFile() as spool:
        command = ["tar", "cf", "-", source.path]
        code, err = await exec_bytes(client, source, container, command, out=spool)
        if code:
            raise click.ClickException(err.decode(errors="replace").strip() or f"tar exited {code}")
        spool.seek(0)
        with tarfile.open(fileobj=spool, mode="r") as tar:
            _unpack(tar, source.path.strip("/"), dest)


def _unpack(tar: tarfile.TarFile, prefix: str, dest: Path) -> None:
    """Members under ``prefix`` (the source, as tar names it) land at ``dest``
    (or in it, under the source's name, when ``dest`` is a directory)."""
    if dest.is_dir():
        dest = dest / posixpath.basename(prefix)
    members = []
    for member in tar.getmembers():
        name = member.name.rstrip("/")
        if name != prefix and not name.startswith(prefix + "/"):
            continue
        member.name = name[len(prefix) :].lstrip("/") or "."
        members.append(member)
    if not members:
        raise click.ClickException(f"{prefix}: nothing to copy")
    if len(members) == 1 and members[0].isfile():  # one file: dest is its name
        dest.parent.mkdir(parents=True, exist_ok=True)
        members[0].name = dest.name
        tar.extractall(dest.parent, members=members, filter="data")
        return
    dest.mkdir(parents=True, exist_ok=True)
    tar.extractall(dest, members=[m for m in members if m.name != "."], filter="data")


@click.command("cp")
@click.argument("source")
@click.argument("dest")
@click.option("-c", "--container", default="", help="The container (needed when several).")
@click.pass_obj
def cp_command(ctx: Any, source: str, dest: str, container: str) -> None:
    """Copy files and directories to and from a container (it needs tar).

    \b
    Examples:
      shoal cp ./site web:/usr/share/www
      shoal cp web:/var/log/app.log ./app.log
      shoal cp other-ns/web:/etc/config ./config
    """
    namespace = ctx.client_config().namespace
    remote_source, remote_dest = pod_path(source, namespace), pod_path(dest, namespace)
    if (remote_source is None) == (remote_dest is None):
        raise click.UsageError("one of SOURCE and DEST must be POD:PATH, the other a local path")

    async def work(client: Client) -> None:
        if remote_dest is not None:
            if not os.path.exists(source):
                raise click.ClickException(f"{source}: no such file or directory")
            await upload(client, Path(source), remote_dest, container)
        else:
            assert remote_source is not None
            await download(client, remote_source, Path(dest), container)

    with_client(ctx, work)
