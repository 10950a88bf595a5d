"""structlog set-up: JSON lines for daemons, readable lines for a person."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure(
    component: str, *, json: bool = True, level: str = "info", stream: Any = None
) -> None:
    """Every line names its component; ``json`` for daemons, console for people."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks if json else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream or _Stderr()),  # type: ignore[arg-type]
        # A process may reconfigure (the CLI, then `shoal server`): no caching.
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(component=component)


class _Stderr:
    """Whatever ``sys.stderr`` is at the time of writing: a test runner that
    swaps it out (and closes the old one) does not strand the logger."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
