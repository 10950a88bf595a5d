"""Garbage collection with custom owners: an owner reference names its kind
by apiVersion, so a CronTab of one group is not taken for another group's."""

from __future__ import annotations

from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.controllers.garbagecollector import GarbageCollector

from tests.controllers.helpers import running
from tests.controllers.test_gc_namespace import gone
from tests.crds.helpers import crd, crontab, unique_group
from tests.integration.helpers import eventually


async def test_owner_of_a_kind_another_group_shares_is_kept(shoal_client: Client) -> None:
    first, second = unique_group(), unique_group()
    await shoal_client.create(crd(first))
    await shoal_client.create(crd(second))
    owner = await shoal_client.create(from_dict(crontab(second, "owner")))
    ref = {"apiVersion": f"{second}/v1", "kind": "CronTab", "name": "owner",
           "uid": owner.metadata.uid}  # fmt: skip
    ghost = {"apiVersion": "v1", "kind": "Pod", "name": "ghost", "uid": "no-such-uid"}
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "half", "ownerReferences": [ref, ghost]},
    }
    await shoal_client.create(from_dict(manifest))
    async with running(GarbageCollector(shoal_client)):

        async def trimmed() -> bool:
            half = await shoal_client.get("ConfigMap", "half")
            return [r.name for r in half.metadata.owner_references] == ["owner"]

        await eventually(trimmed)


async def test_dependents_of_a_deleted_custom_owner_are_collected(shoal_client: Client) -> None:
    await shoal_client.create(crd(unique_group()))  # another group's CronTab, registered first
    async with running(GarbageCollector(shoal_client)):
        group = unique_group()  # defined while the collector runs: it follows the new kind
        await shoal_client.create(crd(group))
        for name in ("background", "foreground"):
            owner = await shoal_client.create(from_dict(crontab(group, name)))
            ref = {"apiVersion": f"{group}/v1", "kind": "CronTab", "name": name,
                   "uid": owner.metadata.uid, "blockOwnerDeletion": True}  # fmt: skip
            manifest = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"of-{name}", "ownerReferences": [ref]},
            }
            await shoal_client.create(from_dict(manifest))
        await shoal_client.delete(f"crontabs.{group}", "background")
        await eventually(lambda: gone(shoal_client, "ConfigMap", "of-background"))
        await shoal_client.delete(
            f"crontabs.{group}", "foreground", propagation_policy="Foreground"
        )
        await eventually(lambda: gone(shoal_client, "ConfigMap", "of-foreground"))
        await eventually(lambda: gone(shoal_client, f"crontabs.{group}", "foreground"))
