"""Object history on etcd: who made each write.

Every write that carries an author (``shoal.store.write_author``) also puts
``<prefix>-history/<key>`` = ``{"user", "verb", "time"}`` in the same etcd
transaction, so the author key's mod_revision *is* the write's revision and
neither is acknowledged without the other. etcd keeps old revisions of both
keys until compaction, so an object's history is a walk back through the
author key's revisions, reading the object at each one. The author key of a
deleted object stays (one small key) so that its history can still be read.
Writes made without an author are not listed on etcd.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

from aetcd import rpc
from shoal.store.base import Author, CompactedError, KeyValue, Revision

Range = Callable[[rpc.RangeRequest], Awaitable[rpc.RangeResponse]]


def history_prefix(prefix: str) -> bytes:
    """``/registry/`` -> ``/registry-history/``: outside every range of the
    store's own prefix ('-' sorts before '/')."""
    return (prefix.rstrip("/") + "-history/").encode()


def author_op(history_key: bytes, author: Author) -> rpc.RequestOp:
    value = json.dumps({"user": author.user, "verb": author.verb, "time": time.time()})
    return rpc.RequestOp(request_put=rpc.PutRequest(key=history_key, value=value.encode()))


async def revisions(read: Range, key: str, raw: bytes, history_key: bytes) -> list[Revision]:
    """Walk back from the newest author record; stop at compaction."""
    found: list[Revision] = []
    at = 0  # 0: now
    while True:
        try:
            authored = await read(rpc.RangeRequest(key=history_key, revision=at))
            if not authored.kvs:
                break
            record = authored.kvs[0]
            rev = int(record.mod_revision)
            found.append(await _revision(read, key, raw, rev, json.loads(record.value)))
        except CompactedError:
            break
        at = rev - 1
        if at < 1:
            break
    found.reverse()
    return found


async def _revision(
    read: Range, key: str, raw: bytes, rev: int, who: dict[str, object]
) -> Revision:
    user, verb = str(who.get("user", "")), str(who.get("verb", ""))
    when = float(who.get("time", 0.0))  # type: ignore[arg-type]
    now = await read(rpc.RangeRequest(key=raw, revision=rev))
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
