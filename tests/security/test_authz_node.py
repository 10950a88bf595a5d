"""The node authorizer end to end: an agent's certificate
(``system:node:<name>`` in ``system:nodes``) reaches only its own Node,
Lease and pods, and the secrets its pods use."""

from __future__ import annotations

from shoal.manifest import from_dict

from tests.integration.helpers import pod
from tests.security.authz_helpers import refused
from tests.security.conftest import SecureServer


def node(name: str) -> object:
    return from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})


def secret(name: str) -> object:
    return from_dict(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {"k": "v"}}
    )


async def test_a_node_changes_only_its_own_objects(secure_server: SecureServer) -> None:
    admin = secure_server.admin
    await admin.create(node("node-b"))
    used = {"name": "used", "secret": {"secretName": "db-password"}}
    await admin.create(pod("mine", node="node-a", volumes=[used]))
    await admin.create(pod("theirs", node="node-b"))
    for name in ("db-password", "unrelated"):
        await admin.create(secret(name))
    agent = secure_server.user_client("system:node:node-a", ("system:nodes",))
    try:
        await agent.create(node("node-a"))  # registers itself
        await refused(agent.patch("node", "node-b", {"metadata": {"labels": {"x": "y"}}}))
        assert [p.metadata.name for p in (await agent.list("pods")).items] == ["mine", "theirs"]

        mine = await agent.get("pod", "mine")
        mine.status.phase = "Running"
        await agent.update_status(mine)  # its own pod's status: allowed
        theirs = await agent.get("pod", "theirs")
        theirs.status.phase = "Failed"
        err = await refused(agent.update_status(theirs))
        assert err.message.startswith(
            'pods "theirs" is forbidden: User "system:node:node-a" cannot update resource '
            '"pods/status" in API group "" in the namespace "default"'
        )
        await refused(agent.delete("pod", "theirs"))
        await refused(agent.update(mine))  # a pod's spec is not the agent's to change
        assert (await admin.get("pod", "theirs")).status.phase != "Failed"  # nothing changed

        assert (await agent.get("secret", "db-password")).data["k"] == b"v"
        err = await refused(agent.get("secret", "unrelated"))
        assert "no relationship found between node 'node-a' and this object" in err.message
        await refused(agent.list("secrets"))
        await agent.delete("pod", "mine")  # its own pods it may delete
    finally:
        await agent.close()


async def test_a_node_renews_only_its_own_lease(secure_server: SecureServer) -> None:
    from shoal.agent.node import ensure_lease_namespace, renew_lease

    agent = secure_server.user_client("system:node:node-a", ("system:nodes",))
    try:
        await ensure_lease_namespace(agent)  # made by the server; the agent's call passes
        await renew_lease(agent, "node-a", 40)
        await renew_lease(agent, "node-a", 40)
        await refused(renew_lease(agent, "node-b", 40))
        assert (await secure_server.admin.get("lease", "node-a", "kube-node-lease")).spec
    finally:
        await agent.close()
