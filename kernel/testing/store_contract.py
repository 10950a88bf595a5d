"""The store contract suite (:mod:`shoal.store.base`): every backend must
pass it. A backend plugin runs it with one import::

    import pytest
    from shoal.testing import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        async def store(self, tmp_path):
            store = MyStore(...)   # new and empty, periodic compaction off
            await store.start()
            yield store
            await store.close()
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from shoal.store.base import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionConflictError,
    Store,
    StoreError,
)

TIMEOUT = 10.0


async def take(watch: AsyncIterator[Event], n: int) -> list[Event]:
    """The next ``n`` events, failing if they do not come within TIMEOUT."""

    async def collect() -> list[Event]:
        return [await anext(watch) for _ in range(n)]

    return await asyncio.wait_for(collect(), TIMEOUT)


async def take_until(watch: AsyncIterator[Event], revision: int) -> list[Event]:
    """Events up to and including ``revision``, within TIMEOUT."""

    async def collect() -> list[Event]:
        events: list[Event] = []
        while not events or events[-1].revision < revision:
            events.append(await anext(watch))
        return events

    return await asyncio.wait_for(collect(), TIMEOUT)


class StoreContract:
    """Subclass with a ``store`` fixture: a started, empty store."""

    async def test_create_and_get(self, store: Store) -> None:
        kv = await store.create("pods/a", b"one")
        assert kv == KeyValue("pods/a", b"one", kv.mod_revision, kv.mod_revision)
        assert kv.mod_revision == await store.current_revision()
        assert await store.get("pods/a") == kv
        assert await store.get("pods/b") is None

    async def test_create_existing_key_fails(self, store: Store) -> None:
        kv = await store.create("pods/a", b"one")
        with pytest.raises(KeyExistsError):
            await store.create("pods/a", b"two")
        assert await store.get("pods/a") == kv

    async def test_update(self, store: Store) -> None:
        kv = await store.create("pods/a", b"one")
        kv2 = await store.update("pods/a", b"two", kv.mod_revision)
        assert kv2.value == b"two"
        assert kv2.create_revision == kv.create_revision
        assert kv2.mod_revision > kv.mod_revision
        kv3 = await store.update("pods/a", b"three", 0)  # 0: whatever the revision
        assert await store.get("pods/a") == kv3

    async def test_update_stale_revision_conflicts(self, store: Store) -> None:
        kv = await store.create("pods/a", b"one")
        kv2 = await store.update("pods/a", b"two", kv.mod_revision)
        with pytest.raises(RevisionConflictError) as err:
            await store.update("pods/a", b"lost", kv.mod_revision)
        assert (err.value.key, err.value.expected, err.value.actual) == (
            "pods/a",
            kv.mod_revision,
            kv2.mod_revision,
        )
        assert await store.get("pods/a") == kv2

    async def test_update_missing_key_fails(self, store: Store) -> None:
        with pytest.raises(KeyNotFoundError):
            await store.update("pods/a", b"x", 0)
        with pytest.raises(KeyNotFoundError):
            await store.update("pods/a", b"x", 5)

    async def test_delete(self, store: Store) -> None:
        kv = await store.create("pods/a", b"one")
        gone = await store.delete("pods/a", kv.mod_revision)
        assert gone.value == b"one"
        assert gone.create_revision == kv.create_revision
        assert gone.mod_revision == await store.current_revision() > kv.mod_revision
        assert await store.get("pods/a") is None
        with pytest.raises(KeyNotFoundError):
            await store.delete("pods/a")
        again = await store.create("pods/a", b"new")
        assert again.create_revision > gone.mod_revision

    async def test_delete_stale_revision_conflicts(self, store: Store) -> None:
        kv = await store.create("pods/a", b"one")
        await store.update("pods/a", b"two", 0)
        with pytest.raises(RevisionConflictError):
            await store.delete("pods/a", kv.mod_revision)
        assert (await store.get("pods/a")) is not None

    async def test_revisions_grow_across_keys_and_failures_use_none(self, store: Store) -> None:
        revisions = []
        for i in range(10):
            revisions.append((await store.create(f"k/{i % 3}/{i}", b"x")).mod_revision)
            with pytest.raises(KeyExistsError):
                await store.create(f"k/{i % 3}/{i}", b"y")
        assert revisions == sorted(set(revisions))
        assert await store.current_revision() == revisions[-1]

    async def test_concurrent_creates_get_distinct_revisions(self, store: Store) -> None:
        kvs = await asyncio.gather(*(store.create(f"c/{i:03d}", b"v") for i in range(200)))
        assert len({kv.mod_revision for kv in kvs}) == 200
        items, rev = await store.list("c/")
        assert [kv.key for kv in items] == [f"c/{i:03d}" for i in range(200)]
        assert rev == max(kv.mod_revision for kv in kvs)

    # -- list ------------------------------------------------------------------

    async def test_list_by_prefix_in_key_order(self, store: Store) -> None:
        for key in ["pods/b", "pods/a", "podsx", "pod", "svc/a", "pods/c/d"]:
            await store.create(key, key.encode())
        items, rev = await store.list("pods/")
        assert [kv.key for kv in items] == ["pods/a", "pods/b", "pods/c/d"]
        assert rev == await store.current_revision()
        everything, _ = await store.list("")
        assert [kv.key for kv in everything] == sorted(
            ["pods/b", "pods/a", "podsx", "pod", "svc/a", "pods/c/d"]
        )

    async def test_list_pages_with_limit_and_start_after(self, store: Store) -> None:
        keys = [f"p/{i:02d}" for i in range(25)]
        for key in random.Random(1).sample(keys, len(keys)):
            await store.create(key, b"v")
        await store.create("q/0", b"v")
        seen: list[str] = []
        after = ""
        while True:
            page, _ = await store.list("p/", limit=10, start_after=after)
            if not page:
                break
            assert len(page) <= 10
            seen += [kv.key for kv in page]
            after = page[-1].key
        assert seen == keys

    async def test_list_at_past_revision(self, store: Store) -> None:
        a1 = await store.create("x/a", b"1")
        b1 = await store.create("x/b", b"1")
        a2 = await store.update("x/a", b"2", a1.mod_revision)
        gone = await store.delete("x/b")
        c1 = await store.create("x/c", b"1")
        assert await store.list("x/", a1.mod_revision) == ([a1], a1.mod_revision)
        assert await store.list("x/", b1.mod_revision) == ([a1, b1], b1.mod_revision)
        assert await store.list("x/", a2.mod_revision) == ([a2, b1], a2.mod_revision)
        assert await store.list("x/", gone.mod_revision) == ([a2], gone.mod_revision)
        assert await store.list("x/", c1.mod_revision) == ([a2, c1], c1.mod_revision)
        page, _ = await store.list("x/", a2.mod_revision, limit=1, start_after="x/a")
        assert page == [b1]
        with pytest.raises(FutureRevisionError):
            await store.list("x/", c1.mod_revision + 1)

    # -- compaction ------------------------------------------------------------

    async def test_compaction(self, store: Store) -> None:
        a1 = await store.create("x/a", b"1")
        await store.create("x/b", b"1")
        await store.delete("x/b")
        a2 = await store.update("x/a", b"2", a1.mod_revision)
        c1 = await store.create("x/c", b"1")
        a3 = await store.update("x/a", b"3", a2.mod_revision)
        compact_at = c1.mod_revision
        await store.compact(compact_at)
        assert await store.compact_revision() == compact_at

        with pytest.raises(CompactedError) as err:
            await store.list("x/", compact_at - 1)
        assert err.value.compact_revision == compact_at
        assert await store.list("x/", compact_at) == ([a2, c1], compact_at)
        assert await store.list("x/") == ([a3, c1], a3.mod_revision)
        assert await store.get("x/a") == a3

        with pytest.raises(CompactedError) as err:
            await anext(store.watch("x/", compact_at - 1))
        assert err.value.compact_revision == compact_at
        (event,) = await take(store.watch("x/", compact_at), 1)
        assert event.type == "UPDATE"
        assert event.kv == a3

    async def test_compact_beyond_current_revision_fails(self, store: Store) -> None:
        kv = await store.create("x/a", b"1")
        with pytest.raises(FutureRevisionError):
            await store.compact(kv.mod_revision + 1)

    # -- watch -----------------------------------------------------------------

    async def test_watch_from_zero_sees_only_later_changes(self, store: Store) -> None:
        await store.create("w/old", b"x")
        watch = store.watch("w/", 0)
        new = await store.create("w/new", b"y")
        (event,) = await take(watch, 1)
        assert (event.type, event.kv) == ("CREATE", new)

    async def test_watch_event_types_and_delete_carries_last_value(self, store: Store) -> None:
        watch = store.watch("w/", 0)
        kv = await store.create("w/a", b"one")
        kv2 = await store.update("w/a", b"two", kv.mod_revision)
        gone = await store.delete("w/a")
        events = await take(watch, 3)
        assert [e.type for e in events] == ["CREATE", "UPDATE", "DELETE"]
        assert [e.kv for e in events] == [kv, kv2, gone]
        assert events[2].kv.value == b"two"
        assert events[2].revision == gone.mod_revision

    async def test_watch_filters_by_prefix(self, store: Store) -> None:
        watch = store.watch("pods/", 0)
        await store.create("podsx", b"no")
        await store.create("svc/a", b"no")
        mine = await store.create("pods/a", b"yes")
        (event,) = await take(watch, 1)
        assert event.kv == mine

    async def test_watch_replays_history_then_live_under_concurrent_writes(
        self, store: Store
    ) -> None:
        committed: list[int] = []
        for i in range(600):  # more than one replay page
            committed.append((await store.create(f"h/{i}", b"x")).mod_revision)
        start = committed[299]

        async def writer(n: int) -> None:
            rng = random.Random(n)
            for i in range(40):
                key = f"h/w{n}/{i}"
                kv = await store.create(key, b"a")
                committed.append(kv.mod_revision)
                if rng.random() < 0.5:
                    committed.append((await store.update(key, b"b", kv.mod_revision)).mod_revision)
                if rng.random() < 0.3:
                    committed.append((await store.delete(key)).mod_revision)

        watch = store.watch("h/", start)
        tasks = [asyncio.create_task(writer(n)) for n in range(5)]
        first = await take(watch, 10)  # the watch replays while the writers write
        await asyncio.gather(*tasks)
        rest = await take_until(watch, max(committed))
        seen = [e.revision for e in first + rest]
        assert seen == sorted(r for r in committed if r > start)

    async def test_many_watchers_each_see_every_event(self, store: Store) -> None:
        watches = [store.watch("m/", 0) for _ in range(200)]
        kvs = [await store.create(f"m/{i}", b"v") for i in range(20)]
        results = await asyncio.gather(*(take(w, 20) for w in watches))
        for events in results:
            assert [e.kv for e in events] == kvs

    async def test_close_ends_watches_and_later_calls_fail(self, store: Store) -> None:
        watch = store.watch("", 0)
        waiting = asyncio.create_task(anext(watch, None))
        await store.create("a", b"1")
        await store.close()
        result = await asyncio.wait_for(waiting, TIMEOUT)
        assert result is None or result.kv.key == "a"
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(watch), TIMEOUT)
        with pytest.raises(StoreError):
            await store.get("a")
        with pytest.raises(StoreError):
            await store.create("b", b"1")
