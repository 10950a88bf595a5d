"""When a CronJob is due: the schedule times that passed since the last run
(Kubernetes' ``mostRecentScheduleTime``), the next one, and the job's name.

Times are seconds since the epoch; the schedule is read in the CronJob's
``timeZone`` (the controller's local time when unset, as Kubernetes does)
by croniter, so daylight-saving changes follow the zone's rules. An
``@every <duration>`` schedule (which Kubernetes' cron library also takes)
runs each delay after the last schedule time, or the creation.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from croniter import croniter
from shoal import clock
from shoal.plugins.kinds.batch_rules import every_seconds

# Kubernetes warns past this many missed start times and runs only the last.
MAX_MISSED = 100


def zone_of(cron_job: Any) -> tzinfo:
    if cron_job.spec.HasField("time_zone"):
        return zoneinfo.ZoneInfo(cron_job.spec.time_zone)
    local = datetime.fromtimestamp(clock.time()).astimezone().tzinfo
    assert local is not None
    return local


def _at(when: float, zone: tzinfo) -> datetime:
    return datetime.fromtimestamp(when, zone)


def next_time(schedule: str, zone: tzinfo, after: float, earliest: float | None = None) -> float:
    """The first schedule time strictly after ``after``; an ``@every`` schedule
    counts its delays from ``earliest`` (the last schedule, or creation)."""
    delay = every_seconds(schedule)
    if delay is not None:
        start = after if earliest is None else earliest
        return start + delay * (max(0, int((after - start) // delay)) + 1)
    return float(croniter(schedule, _at(after, zone)).get_next(datetime).timestamp())


@dataclass(frozen=True)
class Due:
    """The most recent missed time (None: nothing due) and how many there were
    (capped at MAX_MISSED + 1)."""

    scheduled: float | None
    missed: int


def most_recent(schedule: str, zone: tzinfo, earliest: float, now: float) -> Due:
    """The schedule times in (earliest, now]: the latest and their count."""
    if earliest >= now:
        return Due(None, 0)
    delay = every_seconds(schedule)
    if delay is not None:
        # Kubernetes' cron library: earliest + delay, + 2 delays, ...
        count = int((now - earliest) // delay)
        return Due(earliest + count * delay if count else None, min(count, MAX_MISSED + 1))
    latest = croniter(schedule, _at(now, zone) + timedelta(microseconds=1)).get_prev(datetime)
    if latest.timestamp() <= earliest:
        return Due(None, 0)
    it = croniter(schedule, _at(earliest, zone))
    count = 0
    while count <= MAX_MISSED:
        if it.get_next(datetime).timestamp() > now:
            break
        count += 1
    return Due(float(latest.timestamp()), count)


def earliest_time(cron_job: Any, now: float) -> float:
    """Where counting missed times starts: the last schedule (or creation),
    moved up to ``now - startingDeadlineSeconds`` when that is later."""
    status, meta = cron_job.status, cron_job.metadata
    if status.HasField("last_schedule_time"):
        earliest = float(status.last_schedule_time.seconds)
    else:
        earliest = float(meta.creation_timestamp.seconds)
    if cron_job.spec.HasField("starting_deadline_seconds"):
        earliest = max(earliest, now - cron_job.spec.starting_deadline_seconds)
    return earliest


def job_name(cron_job: Any, scheduled: float) -> str:
    """``<cronjob>-<scheduled time in minutes since the epoch>``, Kubernetes' name."""
    return f"{cron_job.metadata.name}-{int(scheduled) // 60}"
