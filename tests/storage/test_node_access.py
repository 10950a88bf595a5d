"""What an agent (``system:node:<name>``) may do with volumes: read claims,
volumes and classes (its provisioner watches them), and create or delete
only the volumes pinned to its own node."""

from __future__ import annotations

from typing import Any

from shoal.api.v1 import core_pb2

from tests.security.authz_helpers import refused
from tests.security.conftest import SecureServer, secure_server
from tests.storage.test_kinds import claim

__all__ = ["secure_server"]


def pinned(name: str, node: str) -> Any:
    pv = core_pb2.PersistentVolume()
    pv.metadata.name = name
    pv.spec.capacity["storage"] = "1Gi"
    pv.spec.access_modes.append("ReadWriteOnce")
    pv.spec.local.path = f"/var/lib/shoal/{name}"
    term = pv.spec.node_affinity.required.node_selector_terms.add()
    term.match_expressions.add(key="kubernetes.io/hostname", operator="In", values=[node])
    return pv


async def test_a_node_makes_only_its_own_volumes(secure_server: SecureServer) -> None:
    admin = secure_server.admin
    await admin.create(claim("data"))
    await admin.create(pinned("theirs", "node-b"))
    agent = secure_server.user_client("system:node:node-a", ("system:nodes",))
    try:
        assert [c.metadata.name for c in (await agent.list("persistentvolumeclaims")).items] == [
            "data"
        ]
        assert (await agent.get("storageclass", "standard")).provisioner
        await agent.create(pinned("mine", "node-a"))
        err = await refused(agent.create(pinned("elsewhere", "node-b")))
        assert "can only create and delete volumes pinned to it" in err.message
        await refused(agent.delete("persistentvolume", "theirs"))
        await agent.delete("persistentvolume", "mine")
        await refused(agent.update(await agent.get("persistentvolumeclaim", "data")))
        names = {v.metadata.name for v in (await admin.list("persistentvolumes")).items}
        assert "elsewhere" not in names and "theirs" in names
    finally:
        await agent.close()
