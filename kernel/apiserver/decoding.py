"""Request bodies decoded with bounds, so no request can make the server do
more work than its size: JSON and YAML nested at most ``MAX_DEPTH`` deep
(Kubernetes' decoders stop at 10,000; its object schemas are far shallower),
YAML without aliases (a few hundred bytes of nested aliases, "billion
laughs", expand to billions of nodes), bodies of at most
``MAX_REQUEST_BYTES`` (Kubernetes' 3 MiB).

Every failure is a ``BadRequestError`` (INVALID_ARGUMENT / 400) that says
what was wrong, never a RecursionError turned into INTERNAL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from shoal import errors

MAX_REQUEST_BYTES = 3 * 1024 * 1024  # Kubernetes' --max-request-body-bytes default
MAX_DEPTH = 100
# Bodies larger than this are decoded in a worker thread so the event loop
# keeps serving everyone else meanwhile.
OFFLOAD_BYTES = 64 * 1024

T = TypeVar("T")


def check_size(size: int, limit: int = MAX_REQUEST_BYTES) -> None:
    if size > limit:
        raise errors.RequestEntityTooLargeError(
            f"the request body is too large: {size} bytes, limit is {limit}"
        )


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse a decoded document nested deeper than ``limit`` (iterative:
    a deep document cannot exhaust the stack here)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise _too_deep(limit)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))


def _too_deep(limit: int) -> errors.BadRequestError:
    return errors.BadRequestError(
        f"the request body is nested too deeply (more than {limit} levels)"
    )


def decode_json(raw: bytes | str, what: str = "the request body") -> Any:
    """JSON, bounded in depth; BadRequest with the parser's words otherwise."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep(MAX_DEPTH) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise errors.BadRequestError(f"{what} is not valid JSON: {err}") from None
    check_depth(value)
    return value


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases and with a depth limit: an alias
    is refused where it appears, before anything is expanded."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a request body", event.start_mark
            )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _too_deep(MAX_DEPTH)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def decode_yaml(raw: bytes | str, what: str = "the request body") -> Any:
    """YAML (one document), without aliases and bounded in depth."""
    try:
        return yaml.load(raw, Loader=_BoundedLoader)
    except RecursionError:
        raise _too_deep(MAX_DEPTH) from None
    except (yaml.YAMLError, ValueError, UnicodeDecodeError) as err:
        message = str(err).replace("\n", " ")
        raise errors.BadRequestError(f"{what} is not valid YAML: {message}") from None


async def off_loop(size: int, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` on a worker thread when ``size`` passes OFFLOAD_BYTES
    (CPU-heavy decoding, patching, encoding), else right here: a thread hop
    costs more than a small body."""
    if size > OFFLOAD_BYTES:
        return await asyncio.to_thread(work, *args)
    return work(*args)
