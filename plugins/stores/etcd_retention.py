"""Per-kind history retention and deleted objects on etcd.

etcd's compaction is global: it forgets every key's old revisions alike. So
before the store compacts to revision ``R``, :func:`archive` copies the
revisions in ``(previous compact revision, R]`` of the keys under each
retained prefix (``history_retention``: key prefix -> seconds) to
``<prefix>-archive/<key>\\0<revision>`` = ``{"type", "value", "create",
"user", "verb", "time"}``, and :func:`expire` deletes archived revisions
older than their prefix's retention. History lists the archive, then the
revisions etcd still keeps.

:func:`deleted` finds the objects that no longer exist: author keys
(``etcd_history``) whose object key is gone, and whose delete etcd still
keeps or the archive does.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable, Mapping

from aetcd import rpc
from shoal.plugins.stores import etcd_history
from shoal.plugins.stores.etcd_history import Range
from shoal.store.base import CompactedError, KeyValue, Revision

Txn = Callable[[list[rpc.RequestOp]], Awaitable[object]]
BATCH = 100  # puts per transaction (etcd's default limit is 128 ops)


def archive_prefix(prefix: str) -> bytes:
    return (prefix.rstrip("/") + "-archive/").encode()


def _prefix_end(raw: bytes) -> bytes:
    return raw[:-1] + bytes([raw[-1] + 1])


async def _keys(read: Range, first: bytes, *, keys_only: bool) -> list[rpc.KeyValue]:
    response = await read(
        rpc.RangeRequest(key=first, range_end=_prefix_end(first), keys_only=keys_only)
    )
    return list(response.kvs)


async def archived(read: Range, archive: bytes, key: str) -> list[Revision]:
    """The archived revisions of ``key``, oldest first."""
    first = archive + key.encode() + b"\0"
    out = []
    for kv in await _keys(read, first, keys_only=False):
        item = json.loads(kv.value)
        rev = int(kv.key.rsplit(b"\0", 1)[1])
        value = base64.b64decode(item["value"])
        out.append(
            Revision(
                item["type"],
                KeyValue(key, value, int(item["create"]), rev),
                item["user"],
                item["verb"],
                float(item["time"]),
            )
        )
    out.sort(key=lambda r: r.kv.mod_revision)
    return out


async def archive(
    read: Range,
    txn: Txn,
    prefixes: tuple[bytes, bytes, bytes],
    retention: Mapping[str, float],
    floor: int,
    upto: int,
) -> int:
    """Copy the revisions in ``(floor, upto]`` of retained keys to the archive."""
    raw_prefix, authors_prefix, archive = prefixes
    ops: list[rpc.RequestOp] = []
    count = 0
    for prefix, seconds in retention.items():
        if seconds <= 0:
            continue
        for record in await _keys(read, authors_prefix + prefix.encode(), keys_only=True):
            key = record.key[len(authors_prefix) :].decode()
            for rev, who in await etcd_history.authors(read, record.key, upto, floor):
                try:
                    raw = raw_prefix + key.encode()
                    change = await etcd_history.revision(read, key, raw, rev, who)
                except CompactedError:
                    break
                ops.append(_put(archive, change))
                count += 1
                if len(ops) >= BATCH:
                    await txn(ops)
                    ops = []
    if ops:
        await txn(ops)
    return count


def _put(archive: bytes, change: Revision) -> rpc.RequestOp:
    value = json.dumps(
        {
            "type": change.type,
            "value": base64.b64encode(change.kv.value).decode(),
            "create": change.kv.create_revision,
            "user": change.user,
            "verb": change.verb,
            "time": change.time,
        }
    ).encode()
    key = archive + change.kv.key.encode() + b"\0" + b"%020d" % change.kv.mod_revision
    return rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value))


async def expire(
    read: Range, txn: Txn, archive: bytes, retention: Mapping[str, float], now: float | None = None
) -> int:
    """Delete archived revisions older than their prefix's retention."""
    now = time.time() if now is None else now
    ops = []
    for prefix, seconds in retention.items():
        if seconds <= 0:
            continue
        for kv in await _keys(read, archive + prefix.encode(), keys_only=False):
            if float(json.loads(kv.value).get("time", 0.0)) < now - seconds:
                ops.append(rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=kv.key)))
    for start in range(0, len(ops), BATCH):
        await txn(ops[start : start + BATCH])
    return len(ops)


async def deleted(
    read: Range,
    prefixes: tuple[bytes, bytes, bytes],
    prefix: str,
    compacted: int,
    start_after: str = "",
    limit: int = 0,
) -> list[Revision]:
    """Keys under ``prefix`` with an author record and no value, whose
    delete is still kept (above ``compacted``, or archived), in key order."""
    raw_prefix, authors_prefix, archive = prefixes
    objects = await _keys(read, raw_prefix + prefix.encode(), keys_only=True)
    live = {kv.key[len(raw_prefix) :] for kv in objects}
    kept = {
        kv.key[len(archive) :].rsplit(b"\0", 1)[0]
        for kv in await _keys(read, archive + prefix.encode(), keys_only=True)
    }
    out: list[Revision] = []
    for kv in await _keys(read, authors_prefix + prefix.encode(), keys_only=False):
        name = kv.key[len(authors_prefix) :]
        key = name.decode()
        if name in live or (start_after and key <= start_after):
            continue
        rev = int(kv.mod_revision)
        if rev <= compacted and name not in kept:
            continue
        who = json.loads(kv.value)
        out.append(
            Revision(
                "DELETE",
                KeyValue(key, b"", 0, rev),
                str(who.get("user", "")),
                str(who.get("verb", "")),
                float(who.get("time", 0.0)),
            )
        )
        if 0 < limit <= len(out):
            break
    return out
