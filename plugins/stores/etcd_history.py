"""Object history on etcd: who made each write.

Every write that carries an author (``shoal.store.write_author``) also puts
``<prefix>-history/<key>`` = ``{"user", "verb", "time"}`` in the same etcd
transaction, so the author key's mod_revision *is* the write's revision and
neither is acknowledged without the other. etcd keeps old revisions of both
keys until compaction, so an object's history is a walk back through the
author key's revisions, reading the object at each one; revisions of
retained kinds that compaction would lose are copied to an archive first
(``etcd_retention``) and listed from there. The author key of a deleted
object stays (one small key) so that its history can still be read.
Writes made without an author are not listed on etcd.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aetcd import rpc
from shoal.store.base import Author, CompactedError, KeyValue, Revision

Range = Callable[[rpc.RangeRequest], Awaitable[rpc.RangeResponse]]
Who = dict[str, Any]


def history_prefix(prefix: str) -> bytes:
    """``/registry/`` -> ``/registry-history/``: outside every range of the
    store's own prefix ('-' sorts before '/')."""
    return (prefix.rstrip("/") + "-history/").encode()


def author_op(history_key: bytes, author: Author) -> rpc.RequestOp:
    value = json.dumps({"user": author.user, "verb": author.verb, "time": time.time()})
    return rpc.RequestOp(request_put=rpc.PutRequest(key=history_key, value=value.encode()))


async def authors(read: Range, history_key: bytes, at: int, floor: int) -> list[tuple[int, Who]]:
    """The author records of one key at or below revision ``at`` (0: now)
    and above ``floor``, newest first; stops at compaction."""
    found: list[tuple[int, Who]] = []
    while True:
        try:
            authored = await read(rpc.RangeRequest(key=history_key, revision=at))
        except CompactedError:
            break
        if not authored.kvs:
            break
        record = authored.kvs[0]
        rev = int(record.mod_revision)
        if rev <= floor:
            break
        found.append((rev, json.loads(record.value)))
        at = rev - 1
        if at < 1:
            break
    return found


async def revisions(
    read: Range,
    key: str,
    raw: bytes,
    history_key: bytes,
    archived: list[Revision],
    after: int = 0,
    limit: int = 0,
) -> list[Revision]:
    """``archived`` (oldest first) and then the walk back from the newest
    author record, above ``after``, oldest first, at most ``limit``."""
    floor = max([after, *(r.kv.mod_revision for r in archived)])
    chosen = [r for r in archived if r.kv.mod_revision > after]
    records = list(reversed(await authors(read, history_key, 0, floor)))
    if limit > 0:
        chosen = chosen[:limit]
        records = records[: max(0, limit - len(chosen))]
    for rev, who in records:
        try:
            chosen.append(await revision(read, key, raw, rev, who))
        except CompactedError:
            continue  # compacted between the walk and this read
    return chosen


async def revision(read: Range, key: str, raw: bytes, rev: int, who: Who) -> Revision:
    """The change at ``rev`` of ``key`` with its author ``who``."""
    user, verb = str(who.get("user", "")), str(who.get("verb", ""))
    when = float(who.get("time", 0.0))
    try:
        now = await read(rpc.RangeRequest(key=raw, revision=rev))
    except CompactedError:  # still the current value? then it is readable now
        now = await read(rpc.RangeRequest(key=raw))
        if not (now.kvs and int(now.kvs[0].mod_revision) == rev):
            raise
    if now.kvs and int(now.kvs[0].mod_revision) == rev:
        kv = now.kvs[0]
        fresh = int(kv.create_revision) == rev
        return Revision(
            "CREATE" if fresh else "UPDATE",
            KeyValue(key, kv.value, int(kv.create_revision), rev),
            user,
            verb,
            when,
        )
    before = await read(rpc.RangeRequest(key=raw, revision=rev - 1))
    value, created = (
        (before.kvs[0].value, int(before.kvs[0].create_revision)) if before.kvs else (b"", 0)
    )
    return Revision("DELETE", KeyValue(key, value, created, rev), user, verb, when)
