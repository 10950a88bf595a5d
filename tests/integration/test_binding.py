"""Binding: one write sets nodeName and PodScheduled; a pod is never bound twice."""

from __future__ import annotations

import pytest
from shoal import errors
from shoal.api.v1 import core_pb2
from shoal.client import Client

from tests.integration.helpers import pod


def binding(name: str, node: str, **meta: str) -> core_pb2.Binding:
    b = core_pb2.Binding()
    b.metadata.name = name
    for key, value in meta.items():
        setattr(b.metadata, key, value)
    b.target.kind, b.target.name = "Node", node
    return b


async def test_binding_sets_node_and_condition_in_one_write(shoal_client: Client) -> None:
    created = await shoal_client.create(pod("web"))
    await shoal_client.create(binding("web", "node-1", uid=created.metadata.uid))
    bound = await shoal_client.get("pods", "web")
    assert bound.spec.node_name == "node-1"
    assert [(c.type, c.status) for c in bound.status.conditions] == [("PodScheduled", "True")]
    assert int(bound.metadata.resource_version) == int(created.metadata.resource_version) + 1


async def test_a_pod_is_never_bound_twice(shoal_client: Client) -> None:
    created = await shoal_client.create(pod("web"))
    await shoal_client.create(binding("web", "node-1"))
    with pytest.raises(errors.ConflictError, match='already assigned to node "node-1"'):
        await shoal_client.create(binding("web", "node-2"))
    stale = binding("other", "node-1")
    await shoal_client.create(pod("other"))
    stale.metadata.resource_version = created.metadata.resource_version
    with pytest.raises(errors.ConflictError):
        await shoal_client.create(stale)
    assert (await shoal_client.get("pods", "other")).spec.node_name == ""


async def test_bad_bindings(shoal_client: Client) -> None:
    with pytest.raises(errors.NotFoundError):
        await shoal_client.create(binding("missing", "node-1"))
    await shoal_client.create(pod("web"))
    with pytest.raises(errors.InvalidError, match=r"target\.name: Required value"):
        await shoal_client.create(binding("web", ""))
    with pytest.raises(errors.ConflictError, match="uid"):
        await shoal_client.create(binding("web", "node-1", uid="wrong"))


async def test_a_bindings_annotations_are_copied_onto_the_pod(shoal_client: Client) -> None:
    """As Kubernetes' assignPod: the scheduler's decision record rides on the Binding."""
    manifest = pod("web")
    manifest.metadata.annotations["keep"] = "me"
    await shoal_client.create(manifest)
    b = binding("web", "node-1")
    b.metadata.annotations["scheduler.shoal.dev/decision"] = '{"node":"node-1"}'
    await shoal_client.create(b)
    bound = await shoal_client.get("pods", "web")
    assert dict(bound.metadata.annotations) == {
        "keep": "me",
        "scheduler.shoal.dev/decision": '{"node":"node-1"}',
    }
