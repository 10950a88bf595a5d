"""A Job's status counts are never negative (Kubernetes' ValidateJobStatus):
a status write saying so is refused over gRPC (INVALID_ARGUMENT) and
changes nothing; the gateway's 422 is in tests/gateway."""

from __future__ import annotations

import pytest
from shoal import errors
from shoal.client import Client

from tests.controllers.test_job import job


async def test_negative_job_status_counts_are_refused(shoal_client: Client) -> None:
    created = await shoal_client.create(job("counted"))
    created.status.active, created.status.ready = -1, -2
    with pytest.raises(errors.InvalidError) as refused:
        await shoal_client.update_status(created)
    assert refused.value.causes == [
        ("status.active", "Invalid value: -1: must be greater than or equal to 0"),
        ("status.ready", "Invalid value: -2: must be greater than or equal to 0"),
    ]
    stored = await shoal_client.get("Job", "counted", "default")
    assert stored.status.active == 0 and not stored.status.HasField("ready")
