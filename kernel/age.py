"""Ages and durations the way kubectl prints them: ``5s``, ``3m2s``, ``2d4h``.

Shared by ``shoal get`` and the kinds' table columns (:mod:`shoal.strategy` Table),
which the gateway prints too."""

from __future__ import annotations

from datetime import datetime

from shoal import clock


def human_duration(seconds: float) -> str:
    """Kubernetes' duration.HumanDuration: more precision for short spans."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes, hours = s // 60, s // 3600
    if minutes < 10:
        return _two(minutes, "m", s % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return _two(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return _two(days, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return _two(days // 365, "y", days % 365, "d")
    return f"{days // 365}y"


def _two(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}" if small == 0 else f"{big}{big_unit}{small}{small_unit}"


def parse_time(stamp: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 time, None when unset or bad."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def age(stamp: str, now: float | None = None) -> str:
    """The age column: ``<unknown>`` when the time is unset, as kubectl."""
    when = parse_time(stamp)
    if when is None:
        return "<unknown>"
    return human_duration((clock.time() if now is None else now) - when)
