"""`shoal server`'s limits at the API boundary (docs/security.md): per-user
fairness (in-flight requests, their queue) and the request body cap."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from shoal.ctl.duration import Duration

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--max-requests-inflight-per-user",
        type=click.IntRange(min=0),
        default=16,
        show_default=True,
        help="Requests one user may have served at once (nodes: 4 times as many; "
        "system:masters: unlimited); 0 turns per-user fairness off.",
    ),
    click.option(
        "--request-queue-length-per-user",
        type=click.IntRange(min=0),
        default=64,
        show_default=True,
        help="Requests of one user waiting for a seat before more get 429.",
    ),
    click.option(
        "--request-queue-wait",
        type=Duration(),
        default="2s",
        show_default=True,
        help="How long a queued request waits for a seat before it gets 429.",
    ),
    click.option(
        "--max-request-body-bytes",
        type=click.IntRange(min=64 * 1024),
        default=3 * 1024 * 1024,
        show_default=True,
        help="The largest request body (gRPC message or HTTP body) accepted.",
    ),
)


def request_limit_options(func: F) -> F:
    """The four options, handed to ``func`` as one ``request_limits``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        max_requests_inflight_per_user: int,
        request_queue_length_per_user: int,
        request_queue_wait: float,
        max_request_body_bytes: int,
        **kwargs: Any,
    ) -> Any:
        from shoal.apiserver.fairness import RequestLimits

        kwargs["request_limits"] = RequestLimits(
            max_inflight_per_user=max_requests_inflight_per_user,
            queue_length_per_user=request_queue_length_per_user,
            queue_wait_seconds=request_queue_wait,
            max_request_bytes=max_request_body_bytes,
        )
        return func(*args, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]
