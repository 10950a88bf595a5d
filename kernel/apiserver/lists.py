"""List with selectors and paging (``limit`` / ``continue``), as Kubernetes
lists: every page of one list is read at the same revision."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from shoal import errors
from shoal.apiserver import codec
from shoal.apiserver.filters import ObjectFilter
from shoal.kinds import Kind
from shoal.store import CompactedError, FutureRevisionError, Store

_CHUNK = 500
MAX_REVISION = 2**63 - 1  # revisions are int64, in etcd as in SQLite


@dataclass
class ListResult:
    items: list[Any] = field(default_factory=list)
    resource_version: str = ""
    continue_token: str = ""


def parse_resource_version(value: str) -> int:
    """``""`` and ``"0"`` mean "the newest"; otherwise a store revision."""
    if value in ("", "0"):
        return 0
    try:
        revision = int(value) if value.isascii() and value.isdigit() else -1
    except ValueError:
        revision = -1
    if not 0 <= revision <= MAX_REVISION:
        raise errors.BadRequestError(
            f'invalid resource version "{value[:64]}": want a non-negative integer'
        )
    return revision


def too_large(revision: int, current: int | None = None) -> errors.ServerTimeoutError:
    """Kubernetes' answer to a version it has not reached: 504, retry in 1 s."""
    now = f", current: {current}" if current is not None else ""
    return errors.ServerTimeoutError(
        f"Too large resource version: {revision}{now}", retry_after_seconds=1
    )


def encode_continue(revision: int, last_key: str) -> str:
    raw = json.dumps({"rv": revision, "start": last_key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str, prefix: str = "") -> tuple[int, str]:
    """The revision and last key of a token this server made; anything else
    (another prefix's key, a version that is not a positive int64) is a
    BadRequest, as Kubernetes' "continue key is not valid"."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        revision, start = data["rv"], data["start"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise errors.BadRequestError("invalid continue token: it does not decode") from None
    if type(revision) is not int or not 0 < revision <= MAX_REVISION:
        raise errors.BadRequestError(
            "invalid continue token: incorrect encoded start resourceVersion"
        )
    if not isinstance(start, str) or not start.startswith(prefix):
        raise errors.BadRequestError("invalid continue token: the continue key is not valid")
    return revision, start


async def list_objects(
    store: Store,
    kind: Kind,
    namespace: str = "",
    *,
    label_selector: str = "",
    field_selector: str = "",
    limit: int = 0,
    continue_token: str = "",
    resource_version: str = "",
) -> ListResult:
    selector = ObjectFilter(kind, label_selector, field_selector)
    revision = parse_resource_version(resource_version)
    start = ""
    prefix = codec.kind_prefix(kind, namespace)
    if continue_token:
        revision, start = decode_continue(continue_token, prefix)
    if revision:
        current = await store.current_revision()
        if revision > current:
            raise too_large(revision, current)
    result = ListResult()
    try:
        while True:
            chunk = 0 if limit <= 0 else max(limit - len(result.items), _CHUNK)
            kvs, read_at = await store.list(prefix, revision, chunk, start)
            revision = read_at  # later pages read at the same revision
            for i, kv in enumerate(kvs):
                obj = codec.decode(kind, kv)
                if selector.matches(obj):
                    result.items.append(obj)
                if limit > 0 and len(result.items) == limit:
                    more = i + 1 < len(kvs) or len(kvs) == chunk
                    if more:
                        result.continue_token = encode_continue(revision, kv.key)
                    break
            else:
                if chunk and len(kvs) == chunk:
                    start = kvs[-1].key
                    continue
            break
    except FutureRevisionError:
        raise too_large(revision, await store.current_revision()) from None
    except CompactedError as err:
        what = "continue parameter" if continue_token else "resourceVersion"
        raise errors.GoneError(
            f"The provided {what} is too old ({err.revision}; oldest kept is "
            f"{err.compact_revision}); list again without it"
        ) from None
    result.resource_version = str(revision)
    return result
