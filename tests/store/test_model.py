"""The SQLite store against a dict model, driven by hypothesis.

Each machine owns an event loop and a fresh store; rules call the store
synchronously through it and compare results *and* errors with the model,
which keeps the whole history so lists at past revisions and the watch replay
at the end can be checked too.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from shoal.store.base import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionConflictError,
    StoreError,
)
from shoal.store.sqlite import SQLiteStore

KEYS = st.sampled_from(["a", "a/1", "a/2", "ab", "b/1", "b/2/x"])
PREFIXES = st.sampled_from(["", "a", "a/", "b/", "c"])
VALUES = st.binary(max_size=8)
EXPECT = st.sampled_from(["right", "wrong", "any"])


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="shoal-model-")
        self.loop = asyncio.new_event_loop()
        self.store = SQLiteStore(Path(self.dir) / "store.db", compact_keep=0)
        self.run(self.store.start())
        self.rev = 0
        self.compacted = 0
        self.history: list[dict[str, KeyValue]] = [{}]  # state at each revision
        self.events: list[tuple[str, KeyValue]] = []

    # -- plumbing ----------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def call(self, coro: Coroutine[Any, Any, Any]) -> tuple[Any, type | None]:
        try:
            return self.run(coro), None
        except StoreError as exc:
            return None, type(exc)

    @property
    def state(self) -> dict[str, KeyValue]:
        return self.history[-1]

    def commit(self, kind: str, kv: KeyValue, present: bool) -> None:
        self.rev += 1
        state = dict(self.state)
        if present:
            state[kv.key] = kv
        else:
            del state[kv.key]
        self.history.append(state)
        self.events.append((kind, kv))

    def expected_revision(self, key: str, how: str) -> int:
        old = self.state.get(key)
        if how == "any":
            return 0
        if how == "right":
            return old.mod_revision if old else 1
        return old.mod_revision + 1 if old else 1

    # -- rules ---------------------------------------------------------------

    @rule(key=KEYS, value=VALUES)
    def create(self, key: str, value: bytes) -> None:
        got, err = self.call(self.store.create(key, value))
        if key in self.state:
            assert err is KeyExistsError
            return
        kv = KeyValue(key, value, self.rev + 1, self.rev + 1)
        assert (got, err) == (kv, None)
        self.commit("CREATE", kv, present=True)

    @rule(key=KEYS, value=VALUES, how=EXPECT)
    def update(self, key: str, value: bytes, how: str) -> None:
        expected = self.expected_revision(key, how)
        got, err = self.call(self.store.update(key, value, expected))
        old = self.state.get(key)
        if old is None:
            assert err is KeyNotFoundError
        elif how == "wrong":
            assert err is RevisionConflictError
        else:
            kv = KeyValue(key, value, old.create_revision, self.rev + 1)
            assert (got, err) == (kv, None)
            self.commit("UPDATE", kv, present=True)

    @rule(key=KEYS, how=EXPECT)
    def delete(self, key: str, how: str) -> None:
        expected = self.expected_revision(key, how)
        got, err = self.call(self.store.delete(key, expected))
        old = self.state.get(key)
        if old is None:
            assert err is KeyNotFoundError
        elif how == "wrong":
            assert err is RevisionConflictError
        else:
            kv = KeyValue(key, old.value, old.create_revision, self.rev + 1)
            assert (got, err) == (kv, None)
            self.commit("DELETE", kv, present=False)

    @rule(key=KEYS)
    def get(self, key: str) -> None:
        assert self.run(self.store.get(key)) == self.state.get(key)

    @rule(
        prefix=PREFIXES,
        back=st.integers(0, 40),
        limit=st.integers(0, 3),
        start_after=st.sampled_from(["", "a/1", "ab", "b"]),
    )
    def list(self, prefix: str, back: int, limit: int, start_after: str) -> None:
        revision = max(self.rev - back, 0) if back else 0
        got, err = self.call(self.store.list(prefix, revision, limit, start_after))
        if 0 < revision < self.compacted:
            assert err is CompactedError
            return
        state = self.history[revision or self.rev]
        want = [state[k] for k in sorted(state) if k.startswith(prefix) and k > start_after]
        assert (got, err) == ((want[:limit] if limit else want, revision or self.rev), None)

    @rule(ahead=st.integers(1, 3))
    def list_future_revision(self, ahead: int) -> None:
        _, err = self.call(self.store.list("", self.rev + ahead))
        assert err is FutureRevisionError

    @rule(back=st.integers(0, 10))
    def compact(self, back: int) -> None:
        revision = max(self.rev - back, 0)
        _, err = self.call(self.store.compact(revision))
        assert err is None
        self.compacted = max(self.compacted, revision)

    @invariant()
    def revisions_agree(self) -> None:
        assert self.run(self.store.current_revision()) == self.rev
        assert self.run(self.store.compact_revision()) == self.compacted

    def teardown(self) -> None:
        try:
            self.check_watch_replay()
        finally:
            self.run(self.store.close())
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def check_watch_replay(self) -> None:
        """A watch from the compact revision replays every retained change
        (from 1 if never compacted: revision 0 would mean "from now")."""
        start = max(self.compacted, 1)
        want = self.events[start:]
        watch = self.store.watch("", start)

        async def collect() -> list[Event]:
            return [await anext(watch) for _ in want]

        got = self.run(asyncio.wait_for(collect(), 10))
        assert [(e.type, e.kv) for e in got] == want
        self.run(watch.aclose())


StoreMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestStoreModel = StoreMachine.TestCase
