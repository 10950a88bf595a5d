"""Custom resources on the command line: a process knows the built-in kinds
from its plugins, and learns the kinds a server's CustomResourceDefinitions
add by reading them (``shoal get crontabs``, ``shoal apply -f`` of a custom
object), as kubectl learns them from discovery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shoal.client import Client


async def learn(client: Client) -> None:
    """Register the kinds of every established definition on the server."""
    from shoal import errors
    from shoal.manifest import to_dict
    from shoal.plugins.kinds.apiextensions import established, register_crd

    try:
        listed = await client.list("customresourcedefinitions")
    except errors.APIError:  # not allowed to read them, or an old server
        return
    for crd in listed.items:
        if established(crd):
            try:
                register_crd(to_dict(crd))
            except ValueError:
                continue  # clashes with a kind of this process: keep that one


async def ensure_known(client: Client, manifest: dict[str, Any]) -> None:
    """Learn the server's custom kinds when a manifest names a kind this
    process does not know."""
    from shoal import kinds

    try:
        kinds.by_api_version_kind(manifest.get("apiVersion", ""), manifest.get("kind", ""))
    except kinds.UnknownKindError:
        await learn(client)
