"""A ControllerRevision must carry its data (Kubernetes: "data is
mandatory"); without it typed clients cannot even list the revisions."""

from __future__ import annotations

import pytest
from shoal import errors
from shoal.api.v1 import apps_pb2
from shoal.client import Client


async def test_a_revision_without_data_is_refused(shoal_client: Client) -> None:
    revision = apps_pb2.ControllerRevision(revision=1)
    revision.metadata.name, revision.metadata.namespace = "r", "default"
    with pytest.raises(errors.InvalidError) as refused:
        await shoal_client.create(revision)
    assert refused.value.causes == [("data", "Required value: data is mandatory")]
    assert (await shoal_client.list("ControllerRevision", "default")).items == []
