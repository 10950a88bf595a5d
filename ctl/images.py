"""``shoal image load FILE.tar --node N`` and ``shoal image ls``: put a
locally built image on a node without a registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from shoal.ctl.resources import with_client

if TYPE_CHECKING:
    from shoal.client import Client

CHUNK = 1 << 20


def _stub(client: Client) -> Any:
    from shoal.api.v1 import streams_pb2_grpc

    return streams_pb2_grpc.StreamsStub(client.channel)


async def load(client: Client, path: Path, node: str) -> list[str]:
    from shoal.api.v1 import streams_pb2 as s
    from shoal.ctl.streams import _rpc_error

    async def chunks() -> AsyncIterator[Any]:
        with path.open("rb") as f:
            first = True
            while (data := f.read(CHUNK)) or first:
                yield s.LoadImageChunk(node=node if first else "", data=data)
                first = False

    try:
        response = await _stub(client).LoadImage(chunks())
    except Exception as err:
        raise _rpc_error(err) from None
    return list(response.tags)


async def list_images(client: Client, nodes: list[str]) -> list[tuple[str, Any]]:
    from shoal.api.v1 import streams_pb2 as s
    from shoal.ctl.streams import _rpc_error

    if not nodes:
        nodes = sorted(n.metadata.name for n in (await client.list("Node")).items)
    rows = []
    for node in nodes:
        try:
            response = await _stub(client).ListImages(s.ListImagesRequest(node=node))
        except Exception as err:
            raise _rpc_error(err) from None
        rows += [(node, image) for image in response.images]
    return rows


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n:.1f}TB"


@click.group("image")
def image_command() -> None:
    """Images on nodes: load a local archive, list what a node has."""


@image_command.command("load")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--node", required=True, help="The node to load the image onto.")
@click.pass_obj
def load_command(ctx: Any, archive: Path, node: str) -> None:
    """Load an image archive (`docker save` format) onto a node.

    \b
    Example:
      docker save myapp:1 -o myapp.tar && shoal image load myapp.tar --node node-1
    """
    tags = with_client(ctx, lambda client: load(client, archive, node))
    for tag in tags:
        click.echo(f"Loaded image: {tag} on node {node}")


@image_command.command("ls")
@click.option("--node", "nodes", multiple=True, help="Only these nodes (default: all).")
@click.pass_obj
def ls_command(ctx: Any, nodes: tuple[str, ...]) -> None:
    """List the images on nodes."""
    rows = with_client(ctx, lambda client: list_images(client, list(nodes)))
    table = [("NODE", "IMAGE", "ID", "SIZE")]
    for node, image in rows:
        short = image.id.split(":")[-1][:12]
        for tag in image.tags or ["<none>"]:
            table.append((node, tag, short, _size(image.size_bytes)))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for row in table:
        click.echo("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
