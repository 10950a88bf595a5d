"""PriorityClass and the Priority admission, through gRPC: the system
classes exist, a pod gets its class's value, unknown classes and a second
global default are refused, a class's value is fixed."""

from __future__ import annotations

from typing import Any

import pytest
from shoal import errors
from shoal.api.v1 import scheduling_pb2
from shoal.client import Client

from tests.integration.helpers import pod


def priority_class(name: str, value: int, **fields: Any) -> Any:
    pc = scheduling_pb2.PriorityClass(value=value, **fields)
    pc.metadata.name = name
    return pc


async def test_system_classes_exist(shoal_client: Client) -> None:
    listed = {pc.metadata.name: pc.value for pc in (await shoal_client.list("pc")).items}
    assert listed["system-cluster-critical"] == 2_000_000_000
    assert listed["system-node-critical"] == 2_000_001_000


async def test_a_pod_gets_the_value_of_its_class(shoal_client: Client) -> None:
    await shoal_client.create(priority_class("high", 1000, preemption_policy="Never"))
    created = await shoal_client.create(pod("urgent", priorityClassName="high"))
    assert created.spec.priority == 1000
    assert created.spec.preemption_policy == "Never"
    plain = await shoal_client.create(pod("plain"))
    assert plain.spec.HasField("priority") and plain.spec.priority == 0


async def test_the_global_default_class_applies_to_pods_naming_none(shoal_client: Client) -> None:
    await shoal_client.create(priority_class("everyday", 10, global_default=True))
    created = await shoal_client.create(pod("p"))
    assert (created.spec.priority, created.spec.priority_class_name) == (10, "everyday")
    with pytest.raises(errors.InvalidError, match="globalDefault is already set by"):
        await shoal_client.create(priority_class("another", 20, global_default=True))


async def test_refusals(shoal_client: Client) -> None:
    with pytest.raises(errors.ForbiddenError, match="no PriorityClass with name nope was found"):
        await shoal_client.create(pod("lost", priorityClassName="nope"))
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("pods", "lost")
    with pytest.raises(errors.InvalidError, match="maximum allowed value"):
        await shoal_client.create(priority_class("huge", 1_000_000_001))
    with pytest.raises(errors.InvalidError, match="reserved for system use"):
        await shoal_client.create(priority_class("system-mine", 5))
    with pytest.raises(errors.InvalidError, match="preemptionPolicy: Unsupported value"):
        await shoal_client.create(priority_class("odd", 5, preemption_policy="Sometimes"))
    with pytest.raises(errors.ForbiddenError, match="must not be provided in pod spec"):
        await shoal_client.create(pod("forced", priority=7))


async def test_a_class_value_is_fixed(shoal_client: Client) -> None:
    created = await shoal_client.create(priority_class("mid", 500))
    created.value = 600
    with pytest.raises(errors.InvalidError, match="value: Forbidden: may not be changed"):
        await shoal_client.update(created)
