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
from shoal.store import CompactedError, Store

_CHUNK = 500


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
        revision = int(value)
    except ValueError:
        revision = -1
    if revision < 0:
        raise errors.BadRequestError(f'invalid resource version "{value}"')
    return revision


def encode_continue(revision: int, last_key: str) -> str:
    raw = json.dumps({"rv": revision, "start": last_key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError):
        raise errors.BadRequestError("invalid continue token") from None


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
    if continue_token:
        revision, start = decode_continue(continue_token)
    prefix = codec.kind_prefix(kind, namespace)
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
    except CompactedError as err:
        what = "continue parameter" if continue_token else "resourceVersion"
        raise errors.GoneError(
            f"The provided {what} is too old ({err.revision}; oldest kept is "
            f"{err.compact_revision}); list again without it"
        ) from None
    result.resource_version = str(revision)
    return result
