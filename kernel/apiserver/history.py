"""Object history: who wrote each retained revision of an object, and what.

Writes: :func:`recorded` wraps the registry's write methods and sets the
store's ``write_author`` (the authenticated user, the API verb) for the
call, so the store records the author in the same transaction as the write.

Reads: :func:`object_history` lists the store's retained revisions of one
key, decoded, with each kind's :meth:`Strategy.redact_history` applied (a
Secret's values become stand-ins), a page at a time (``limit`` and a
kubectl-style ``continue`` token); :func:`deleted_objects` the objects of a
kind that no longer exist. Retention is the store's: compaction keeps only
the newest revision of each key at or below the compact revision, except for
the kinds the server retains longer (``shoal server --history-retention``).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from shoal import auth, errors
from shoal.api.v1 import api_pb2
from shoal.apiserver import codec
from shoal.apiserver.lists import decode_continue, encode_continue
from shoal.kinds import Kind
from shoal.store import Author, HistoryStore, Store, write_author

P = ParamSpec("P")
T = TypeVar("T")
# Stand-ins for redacted values: keyed per server process, so a stand-in
# reveals nothing about its value but two equal values in one answer match.
_REDACT_KEY = secrets.token_bytes(32)


def recorded(
    verb: str | Callable[..., str],
) -> Callable[[Callable[P, Coroutine[Any, Any, T]]], Callable[P, Coroutine[Any, Any, T]]]:
    """Record the caller (the ``user`` keyword, else the authenticated user)
    and ``verb`` (or ``verb(**kwargs)``) with every store write of the call."""

    def wrap(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        @functools.wraps(fn)
        async def inner(*args: P.args, **kwargs: P.kwargs) -> T:
            name = verb if isinstance(verb, str) else verb(**kwargs)
            token = write_author.set(Author(_user(str(kwargs.get("user") or "")), name))
            try:
                return await fn(*args, **kwargs)
            finally:
                write_author.reset(token)

        return inner

    return wrap


def _user(given: str) -> str:
    if given:
        return given
    user = auth.current_user()
    return user.name if user is not None else ""


@dataclass(frozen=True)
class HistoryEntry:
    resource_version: str
    type: str  # CREATE, UPDATE, DELETE
    verb: str
    user: str
    time: float  # seconds since the epoch; 0: not recorded
    object: Any


def mark(value: bytes) -> bytes:
    digest = hmac.new(_REDACT_KEY, value, hashlib.sha256).hexdigest()[:12]
    return f"<redacted {digest}>".encode()


def _history_store(store: Store) -> HistoryStore:
    if not isinstance(store, HistoryStore):
        raise errors.BadRequestError("this server's store keeps no object history")
    return store


def _check_limit(limit: int) -> None:
    if limit < 0:
        raise errors.BadRequestError(f"limit: Invalid value: {limit}: must be 0 or more")


async def object_history(
    store: Store,
    kind: Kind,
    namespace: str,
    name: str,
    *,
    limit: int = 0,
    continue_token: str = "",
) -> tuple[list[HistoryEntry], str]:
    """The object's retained revisions, oldest first, at most ``limit`` (0:
    all) after ``continue_token``; with the token of the next page ("" when
    none follows). NotFound if it has none."""
    history = _history_store(store)
    _check_limit(limit)
    key = codec.object_key(kind, namespace if kind.namespaced else "", name)
    after, start = decode_continue(continue_token, key) if continue_token else (0, key)
    if start != key:  # another object's token
        raise errors.BadRequestError("invalid continue token: the continue key is not valid")
    revisions = await history.revisions(key, after, limit + 1 if limit > 0 else 0)
    more = limit > 0 and len(revisions) > limit
    entries = []
    for rev in revisions[:limit] if more else revisions:
        obj = codec.decode(kind, rev.kv)
        kind.strategy.redact_history(obj, mark)
        entries.append(
            HistoryEntry(str(rev.kv.mod_revision), rev.type, rev.verb, rev.user, rev.time, obj)
        )
    if not entries and not continue_token:
        raise errors.not_found(kind.plural, name, kind.group)
    token = encode_continue(int(entries[-1].resource_version), key) if more else ""
    return entries, token


@dataclass(frozen=True)
class DeletedEntry:
    namespace: str
    name: str
    resource_version: str  # the delete's
    verb: str
    user: str
    time: float


async def deleted_objects(
    store: Store, kind: Kind, namespace: str, *, limit: int = 0, continue_token: str = ""
) -> tuple[list[DeletedEntry], str]:
    """The objects of ``kind`` (in ``namespace``; "": every one) that no
    longer exist and whose delete is retained, in name order, a page at a time."""
    history = _history_store(store)
    _check_limit(limit)
    prefix = codec.kind_prefix(kind, namespace)
    start = decode_continue(continue_token, prefix)[1] if continue_token else ""
    found = await history.deleted(prefix, start, limit + 1 if limit > 0 else 0)
    more = limit > 0 and len(found) > limit
    found = found[:limit] if more else found
    base = codec.kind_prefix(kind)
    entries = []
    for rev in found:
        ns, _, name = rev.kv.key[len(base) :].rpartition("/")
        entries.append(
            DeletedEntry(ns, name, str(rev.kv.mod_revision), rev.verb, rev.user, rev.time)
        )
    token = encode_continue(found[-1].kv.mod_revision, found[-1].kv.key) if more else ""
    return entries, token


def deleted_response(kind: Kind, entries: list[DeletedEntry], token: str) -> Any:
    response = api_pb2.DeletedObjectsResponse(continue_token=token)
    for entry in entries:
        response.items.add(
            kind=kind.kind,
            api_version=kind.api_version,
            namespace=entry.namespace,
            name=entry.name,
            resource_version=entry.resource_version,
            user=entry.user,
            verb=entry.verb,
            time=rfc3339(entry.time),
        )
    return response


def history_response(entries: list[HistoryEntry], token: str = "") -> api_pb2.HistoryResponse:
    response = api_pb2.HistoryResponse(continue_token=token)
    for entry in entries:
        item = response.items.add(
            resource_version=entry.resource_version,
            type=entry.type,
            verb=entry.verb,
            user=entry.user,
            time=rfc3339(entry.time),
        )
        item.object.Pack(entry.object)
    return response


def rfc3339(seconds: float) -> str:
    if not seconds:
        return ""
    stamp = datetime.datetime.fromtimestamp(int(seconds), datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
