"""The PodScheduled condition, set as Kubernetes sets it."""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from shoal import clock
from shoal.api.v1 import meta_pb2


def now() -> Timestamp:
    return clock.now_stamp(whole_seconds=True)


def pod_scheduled_condition(scheduled: bool, message: str = "") -> Any:
    if scheduled:
        return meta_pb2.Condition(type="PodScheduled", status="True")
    return meta_pb2.Condition(
        type="PodScheduled", status="False", reason="Unschedulable", message=message
    )


def set_condition(conditions: Any, condition: Any) -> bool:
    """Put ``condition`` in the repeated field; False if nothing changed.
    The transition time moves only when the status does."""
    for existing in conditions:
        if existing.type != condition.type:
            continue
        same = (existing.status, existing.reason, existing.message) == (
            condition.status,
            condition.reason,
            condition.message,
        )
        if same:
            return False
        if existing.status != condition.status:
            existing.last_transition_time.CopyFrom(now())
        existing.status, existing.reason = condition.status, condition.reason
        existing.message = condition.message
        return True
    added = conditions.add()
    added.CopyFrom(condition)
    added.last_transition_time.CopyFrom(now())
    return True
