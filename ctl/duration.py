"""Durations on the command line, written as Kubernetes' components take
them: Go's ``time.ParseDuration`` syntax (``250ms``, ``5s``, ``1m30s``,
``1h``, ``0``) or a plain number of seconds, as kubectl's ``--timeout`` and
``--request-timeout`` also take. Every flag that is a span of time uses
:class:`Duration`, so they all read the same words."""

from __future__ import annotations

import re
from typing import Any

import click

# Go's units, and ``d`` (days), which token lifetimes have always been given in.
UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)")
_NUMBER = re.compile(r"\d+\.?\d*|\.\d+")
HINT = "use e.g. 30s, 1m30s or a number of seconds"


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``1m30s`` -> 90.0, ``250ms`` -> 0.25, ``90`` -> 90.0.

    A sign is not taken: no flag here means a negative span of time."""
    word = text.strip()
    if _NUMBER.fullmatch(word):
        return float(word)
    pos, total = 0, 0.0
    for match in _PART.finditer(word):
        if match.start() != pos:
            break
        total += float(match[1]) * UNITS[match[2]]
        pos = match.end()
    if not word or pos != len(word):
        raise DurationError(f'invalid duration "{text}": {HINT}')
    return total


def format_duration(seconds: float) -> str:
    """The shortest Go-style spelling: 90 -> ``1m30s``, 0.25 -> ``250ms``."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours:g}h" if hours else "", f"{minutes:g}m" if minutes else ""]
    parts.append(f"{secs:g}s" if secs else "")
    return "".join(parts)


class Duration(click.ParamType):
    """A click type giving seconds (a float) from a duration; ``minimum``
    refuses spans too short to mean anything (e.g. a zero grace period)."""

    name = "duration"

    def __init__(self, minimum: float = 0.0) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(str(value))
            except DurationError as err:
                self.fail(str(err), param, ctx)
        if seconds < self.minimum:
            self.fail(
                f'invalid duration "{value}": must be at least {format_duration(self.minimum)}',
                param,
                ctx,
            )
        return seconds

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "DURATION"
