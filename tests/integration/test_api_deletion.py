"""Deletion as Kubernetes does it: finalizers and grace periods hold an
object (deletionTimestamp set) until released; namespaces terminate."""

from __future__ import annotations

import pytest
from shoal import errors
from shoal.client import Client

from tests.integration.helpers import obj, pod


async def test_plain_delete_removes_at_once(shoal_client: Client) -> None:
    await shoal_client.create(pod("web"))
    gone = await shoal_client.delete("pods", "web")
    assert gone.metadata.name == "web"
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("pods", "web")
    with pytest.raises(errors.NotFoundError):
        await shoal_client.delete("pods", "web")


async def test_finalizers_hold_the_object_until_removed(shoal_client: Client) -> None:
    cm = obj(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "held", "finalizers": ["example.com/cleanup"]},
        }
    )
    await shoal_client.create(cm)
    marked = await shoal_client.delete("cm", "held")
    assert marked.metadata.HasField("deletion_timestamp")
    held = await shoal_client.get("cm", "held")
    assert held.metadata.HasField("deletion_timestamp")
    await shoal_client.patch("cm", "held", {"metadata": {"finalizers": None}})
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("cm", "held")


async def test_bound_pod_terminates_gracefully(shoal_client: Client) -> None:
    await shoal_client.create(pod("web", node="node-1", terminationGracePeriodSeconds=20))
    marked = await shoal_client.delete("pods", "web")
    m = marked.metadata
    assert m.HasField("deletion_timestamp") and m.deletion_grace_period_seconds == 20
    # the agent confirms with a zero grace period once its containers stopped
    await shoal_client.delete("pods", "web", grace_period_seconds=0)
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("pods", "web")


async def test_unscheduled_pod_goes_at_once(shoal_client: Client) -> None:
    await shoal_client.create(pod("web"))
    await shoal_client.delete("pods", "web")
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("pods", "web")


async def test_propagation_policies_add_finalizers(shoal_client: Client) -> None:
    for name, policy, finalizer in (
        ("fg", "Foreground", "foregroundDeletion"),
        ("or", "Orphan", "orphan"),
    ):
        await shoal_client.create(
            obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
        )
        marked = await shoal_client.delete("cm", name, propagation_policy=policy)
        assert list(marked.metadata.finalizers) == [finalizer]


async def test_delete_preconditions(shoal_client: Client) -> None:
    created = await shoal_client.create(pod("web"))
    with pytest.raises(errors.PreconditionFailedError, match="UID in precondition"):
        await shoal_client.delete("pods", "web", uid="not-the-uid")
    with pytest.raises(errors.ConflictError):
        await shoal_client.delete("pods", "web", resource_version="1")
    await shoal_client.delete("pods", "web", uid=created.metadata.uid)


async def test_system_namespaces_exist_and_stay(shoal_client: Client) -> None:
    names = {ns.metadata.name for ns in (await shoal_client.list("namespaces")).items}
    assert {"default", "shoal-system"} <= names
    with pytest.raises(errors.ForbiddenError, match="may not be deleted"):
        await shoal_client.delete("ns", "default")


async def test_namespace_must_exist_and_terminating_refuses_content(shoal_client: Client) -> None:
    with pytest.raises(errors.NotFoundError, match='namespaces "team-a" not found'):
        await shoal_client.create(pod("web", namespace="team-a"))
    await shoal_client.create(
        obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    )
    await shoal_client.create(pod("web", namespace="team-a"))
    terminating = await shoal_client.delete("ns", "team-a")
    assert terminating.status.phase == "Terminating"
    assert list(terminating.spec.finalizers) == ["kubernetes"]
    with pytest.raises(errors.ForbiddenError, match="being terminated"):
        await shoal_client.create(pod("other", namespace="team-a"))
    # the namespace controller empties it and drops its finalizer; then it goes
    await shoal_client.delete("pods", "web", namespace="team-a")
    await shoal_client.patch("ns", "team-a", {"spec": {"finalizers": []}}, namespace="")
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("ns", "team-a", namespace="")
