"""Carrying out a preemption the DefaultPreemption plugin decided: delete
the victims (a delete, not an eviction: budgets were weighed when choosing)
and tell each why with a ``Preempted`` event, as kube-scheduler does."""

from __future__ import annotations

from typing import Any

import structlog
from shoal import errors
from shoal.events import NORMAL, EventRecorder
from shoal.plugins.kinds import podconditions
from shoal.plugins.scheduler.preemption import Candidate
from shoal.plugins.scheduler.profile import DEFAULT_SCHEDULER_NAME

log = structlog.get_logger("scheduler")


async def delete_victims(client: Any, recorder: EventRecorder, pod: Any, chosen: Candidate) -> int:
    """Delete ``chosen.victims`` (each by uid, so a pod recreated under the
    same name is spared); how many deletions the API accepted."""
    deleted = 0
    why = podconditions.preemption(pod.spec.scheduler_name or DEFAULT_SCHEDULER_NAME)
    for victim in chosen.victims:
        m = victim.pod.metadata
        try:
            await podconditions.mark_disrupted(client, victim.pod, why)
            await client.delete("Pod", m.name, m.namespace, uid=m.uid)
        except errors.NotFoundError:
            continue  # already gone: its room is free anyway
        except (errors.APIError, OSError) as err:
            log.warning("could not preempt", victim=victim.key, error=str(err))
            continue
        deleted += 1
        recorder.emit(
            victim.pod,
            NORMAL,
            "Preempted",
            f"Preempted by pod {pod.metadata.uid} on node {chosen.node}",
        )
    return deleted
