"""The etcd store: the store contract (``shoal.store.base``) over etcd v3.

The contract was modelled on etcd, so the mapping is direct:

- a store key ``pods/default/web`` is the etcd key ``<prefix>pods/default/web``
  (``/registry/`` by default, as in Kubernetes);
- revisions are etcd's revisions: ``mod_revision`` is the resourceVersion;
- ``create`` is a transaction "mod_revision == 0 then put"; ``update`` and
  ``delete`` are "mod_revision == expected then put/delete", whose failure
  branch reads the key to tell a conflict from a missing key;
- ``list`` is a range at a revision, paged with a limit and a start key;
- ``watch(prefix, R)`` is an etcd watch from ``R + 1`` (see ``etcd_watch``);
- ``compact`` is etcd's compaction, and its "required revision has been
  compacted" error becomes CompactedError.

etcd does not report its compact revision directly; the store learns it from
its own compactions and from watch responses, and finds it by bisection
(ranges at past revisions) when it starts and when a read hits compaction.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

import grpc
import structlog
from aetcd import rpc
from shoal.plugins.stores import etcd_history, etcd_retention
from shoal.plugins.stores.etcd_client import EtcdClient, TLSFiles, prefix_end
from shoal.plugins.stores.etcd_watch import EtcdWatch, WatchStream
from shoal.store.base import (
    CompactedError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Revision,
    RevisionConflictError,
    StorageFullError,
    StoreError,
    check_key,
    check_revision,
    check_value,
    write_author,
)

log = structlog.get_logger("shoal.store.etcd")
KeyValues = list[KeyValue]
Ops = list[Any]  # spelled out here: EtcdStore.list shadows the builtin
_MOD = rpc.Compare.CompareTarget.MOD
_EQUAL = rpc.Compare.CompareResult.EQUAL
_GREATER = rpc.Compare.CompareResult.GREATER


class EtcdStore:
    """See the module docstring and :class:`shoal.store.base.Store`."""

    def __init__(
        self,
        endpoints: str | list[str],
        *,
        prefix: str = "/registry/",
        tls: TLSFiles | None = None,
        timeout: float = 10.0,
        compact_interval: float = 300.0,
        compact_keep: int = 10000,
        watch_queue_size: int = 10000,
        history_retention: Mapping[str, float] | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.prefix = prefix
        self._raw_prefix = prefix.encode()
        self._history_prefix = etcd_history.history_prefix(prefix)
        self._archive = etcd_retention.archive_prefix(prefix)
        self._retention = dict(history_retention or {})
        self._tls = tls
        self._timeout = timeout
        self._compact_interval = compact_interval
        self._compact_keep = compact_keep
        self._watch_queue_size = watch_queue_size
        self.client: EtcdClient | None = None
        self._stream: WatchStream | None = None
        self._compactor: asyncio.Task[None] | None = None
        self._revision = 0  # the newest revision this store has seen
        self._compacted = 0
        self._closed = False

    async def start(self) -> None:
        self.client = EtcdClient(self.endpoints, self._tls, self._timeout)
        self._stream = WatchStream(
            self.client.watch,
            self._store_key,
            self._seen,
            self._seen_compaction,
            self._watch_queue_size,
        )
        try:
            await self.current_revision()
        except StoreError as err:
            await self.client.close()
            raise StoreError(f"cannot reach etcd at {self.endpoints}: {err}") from None
        await self._find_compact_revision(0)
        if self._compact_keep > 0 and self._compact_interval > 0:
            self._compactor = asyncio.create_task(self._compact_periodically())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
        if self._stream is not None:
            await self._stream.close()
        if self.client is not None:
            await self.client.close()

    # -- reads -----------------------------------------------------------

    async def current_revision(self) -> int:
        response = await self._range(rpc.RangeRequest(key=self._raw_prefix, count_only=True))
        return int(response.header.revision)

    async def compact_revision(self) -> int:
        self._check_open()
        return self._compacted

    async def get(self, key: str) -> KeyValue | None:
        response = await self._range(rpc.RangeRequest(key=self._etcd_key(key)))
        return self._kv(response.kvs[0]) if response.kvs else None

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> tuple[KeyValues, int]:
        check_revision(revision)
        first = self._raw_prefix + prefix.encode()
        start = max(first, self._etcd_key(start_after) + b"\0") if start_after else first
        request = rpc.RangeRequest(
            key=start or b"\0", range_end=prefix_end(first), revision=revision, limit=limit
        )
        response = await self._range(request)
        return [self._kv(kv) for kv in response.kvs], revision or int(response.header.revision)

    # -- writes ----------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        raw = self._etcd_key(key)
        put = rpc.RequestOp(request_put=rpc.PutRequest(key=raw, value=check_value(value)))
        response = await self._txn([_mod_is(raw, 0)], [put, *self._authored(key)], [])
        if not response.succeeded:
            raise KeyExistsError(key)
        return KeyValue(key, bytes(value), response.header.revision, response.header.revision)

    async def update(self, key: str, value: bytes, expected_revision: int) -> KeyValue:
        check_revision(expected_revision)
        raw = self._etcd_key(key)
        put = rpc.PutRequest(key=raw, value=check_value(value), prev_kv=True)
        response = await self._conditional(
            key, raw, expected_revision, rpc.RequestOp(request_put=put), self._authored(key)
        )
        prev = response.responses[0].response_put.prev_kv
        return KeyValue(key, bytes(value), prev.create_revision, response.header.revision)

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        check_revision(expected_revision)
        raw = self._etcd_key(key)
        delete = rpc.DeleteRangeRequest(key=raw, prev_kv=True)
        op = rpc.RequestOp(request_delete_range=delete)
        response = await self._conditional(key, raw, expected_revision, op, self._authored(key))
        prev = response.responses[0].response_delete_range.prev_kvs[0]
        return KeyValue(key, prev.value, prev.create_revision, response.header.revision)

    async def revisions(self, key: str, after: int = 0, limit: int = 0) -> builtins.list[Revision]:
        """See :class:`shoal.store.base.HistoryStore` and ``etcd_history``."""
        check_revision(after)
        raw = self._etcd_key(key)
        history_key = self._history_prefix + check_key(key).encode("utf-8")
        kept = await etcd_retention.archived(self._range, self._archive, key)
        return await etcd_history.revisions(self._range, key, raw, history_key, kept, after, limit)

    async def deleted(
        self, prefix: str, start_after: str = "", limit: int = 0
    ) -> builtins.list[Revision]:
        """See :class:`shoal.store.base.HistoryStore` and ``etcd_retention``."""
        return await etcd_retention.deleted(
            self._range, self._prefixes, prefix, self._compacted, start_after, limit
        )

    @property
    def _prefixes(self) -> tuple[bytes, bytes, bytes]:
        return self._raw_prefix, self._history_prefix, self._archive

    async def _put_all(self, ops: builtins.list[rpc.RequestOp]) -> None:
        await self._txn([], ops, [])

    async def compact(self, revision: int) -> None:
        check_revision(revision)
        self._check_open()
        if revision <= self._compacted:
            return
        assert self.client is not None
        if self._retention:  # first copy what retained kinds would lose
            floor = self._compacted
            await etcd_retention.archive(
                self._range, self._put_all, self._prefixes, self._retention, floor, revision
            )
            await etcd_retention.expire(self._range, self._put_all, self._archive, self._retention)
        try:
            await self.client.compact(revision)
        except grpc.aio.AioRpcError as err:
            if "compacted" not in (err.details() or ""):
                raise self._error(err, revision) from None
        self._seen_compaction(revision)

    def watch(self, prefix: str, revision: int) -> EtcdWatch:
        self._check_open()
        check_revision(revision)
        assert self._stream is not None
        first = self._raw_prefix + prefix.encode()
        # From 0 means "after everything this store has seen": fixed now, not
        # when the stream gets round to creating the watch.
        start = revision or self._revision
        return EtcdWatch(self._stream, first or b"\0", prefix_end(first), start, self._compacted)

    # -- internals -------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")
        if self.client is None:
            raise StoreError("the store is not started")

    def _etcd_key(self, key: str) -> bytes:
        return self._raw_prefix + check_key(key).encode("utf-8")

    def _store_key(self, raw: bytes) -> str:
        return raw[len(self._raw_prefix) :].decode("utf-8", "replace")

    def _kv(self, kv: rpc.KeyValue) -> KeyValue:
        return KeyValue(self._store_key(kv.key), kv.value, kv.create_revision, kv.mod_revision)

    def _seen(self, revision: int) -> None:
        self._revision = max(self._revision, revision)

    def _seen_compaction(self, revision: int) -> None:
        self._compacted = max(self._compacted, revision)

    async def _range(self, request: rpc.RangeRequest) -> rpc.RangeResponse:
        self._check_open()
        assert self.client is not None
        try:
            response = await self.client.range(request)
        except grpc.aio.AioRpcError as err:
            if "compacted" in (err.details() or ""):
                await self._find_compact_revision(request.revision)
            raise self._error(err, request.revision) from None
        self._seen(response.header.revision)
        return response

    async def _txn(
        self, compare: Iterable[rpc.Compare], success: Ops, failure: Ops
    ) -> rpc.TxnResponse:
        self._check_open()
        assert self.client is not None
        request = rpc.TxnRequest(compare=compare, success=success, failure=failure)
        try:
            response = await self.client.txn(request)
        except grpc.aio.AioRpcError as err:
            raise self._error(err, 0) from None
        self._seen(response.header.revision)
        return response

    def _authored(self, key: str) -> Ops:
        """The author record of a write, put in its transaction (none without an author)."""
        author = write_author.get()
        if author is None:
            return []
        return [etcd_history.author_op(self._history_prefix + key.encode("utf-8"), author)]

    async def _conditional(
        self, key: str, raw: bytes, expected: int, op: rpc.RequestOp, also: Ops | None = None
    ) -> rpc.TxnResponse:
        """Run ``op`` (and ``also``) if the key exists with mod_revision
        ``expected`` (0: any)."""
        compare = _mod_is(raw, expected) if expected else _exists(raw)
        read = rpc.RequestOp(request_range=rpc.RangeRequest(key=raw))
        response = await self._txn([compare], [op, *(also or [])], [read])
        if response.succeeded:
            return response
        found = response.responses[0].response_range.kvs
        if not found:
            raise KeyNotFoundError(key)
        raise RevisionConflictError(key, expected, found[0].mod_revision)

    def _error(self, err: grpc.aio.AioRpcError, revision: int) -> StoreError:
        details = err.details() or str(err.code())
        if "compacted" in details:
            return CompactedError(revision, self._compacted)
        if "future revision" in details:
            return FutureRevisionError(f"revision {revision} is newer than the store's")
        if "database space exceeded" in details:  # etcd's quota (NOSPACE alarm)
            return StorageFullError(f"etcd: {details}; compact and defragment etcd")
        return StoreError(f"etcd: {err.code().name}: {details}")

    async def _find_compact_revision(self, failed: int) -> None:
        """Bisect for the oldest revision a range can still read."""
        assert self.client is not None
        lo = max(self._compacted, failed + 1 if failed else 1)
        hi = max(lo, self._revision)  # the newest revision is always readable
        while lo < hi:
            mid = (lo + hi) // 2
            if await self._readable(mid):
                hi = mid
            else:
                lo = mid + 1
        if lo > 1:
            self._seen_compaction(lo)

    async def _readable(self, revision: int) -> bool:
        assert self.client is not None
        request = rpc.RangeRequest(key=self._raw_prefix, revision=revision, count_only=True)
        try:
            await self.client.range(request)
        except grpc.aio.AioRpcError as err:
            if "compacted" in (err.details() or ""):
                return False
            raise self._error(err, revision) from None
        return True

    async def _compact_periodically(self) -> None:
        # Every server runs this; a compaction another got to first is a no-op.
        while True:
            await asyncio.sleep(self._compact_interval)
            target = await self.current_revision() - self._compact_keep
            if target <= self._compacted:
                continue
            try:
                await self.compact(target)
                log.debug("compacted", component="store", revision=target)
            except StoreError as exc:
                log.warning("compaction failed", component="store", error=str(exc))


def _mod_is(raw: bytes, revision: int) -> rpc.Compare:
    return rpc.Compare(key=raw, target=_MOD, result=_EQUAL, mod_revision=revision)


def _exists(raw: bytes) -> rpc.Compare:
    return rpc.Compare(key=raw, target=_MOD, result=_GREATER, mod_revision=0)
