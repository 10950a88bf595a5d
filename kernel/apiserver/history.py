"""Object history: who wrote each retained revision of an object, and what.

Writes: :func:`recorded` wraps the registry's write methods and sets the
store's ``write_author`` (the authenticated user, the API verb) for the
call, so the store records the author in the same transaction as the write.

Reads: :func:`object_history` lists the store's retained revisions of one
key, decoded, with each kind's :meth:`Strategy.redact_history` applied (a
Secret's values become stand-ins). Retention is the store's: compaction keeps
only the newest revision of each key at or below the compact revision.
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


async def object_history(store: Store, kind: Kind, namespace: str, name: str) -> list[HistoryEntry]:
    """Every retained revision of the object, oldest first (NotFound if none)."""
    if not isinstance(store, HistoryStore):
        raise errors.BadRequestError("this server's store keeps no object history")
    key = codec.object_key(kind, namespace if kind.namespaced else "", name)
    entries = []
    for rev in await store.revisions(key):
        obj = codec.decode(kind, rev.kv)
        kind.strategy.redact_history(obj, mark)
        entries.append(
            HistoryEntry(str(rev.kv.mod_revision), rev.type, rev.verb, rev.user, rev.time, obj)
        )
    if not entries:
        raise errors.not_found(kind.plural, name, kind.group)
    return entries


def history_response(entries: list[HistoryEntry]) -> api_pb2.HistoryResponse:
    response = api_pb2.HistoryResponse()
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
