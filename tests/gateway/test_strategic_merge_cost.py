"""A strategic merge of a long named list costs linear time: its items are
found by index, not by a scan per item. Counted, not timed: every hash and
comparison of a merge key is one step, and a list of n items against one of
m costs a few steps an item (a scan per item would cost n * m)."""

from __future__ import annotations

from typing import Any

import pytest
from shoal.plugins.gateway.strategic import strategic_merge


class Name(str):
    """A merge key that counts how often it is hashed or compared."""

    steps = 0

    def __hash__(self) -> int:
        Name.steps += 1
        return str.__hash__(self)

    def __eq__(self, other: object) -> bool:
        Name.steps += 1
        return str.__eq__(self, other)


def env(names: range, value: str) -> list[dict[str, Any]]:
    return [{"name": Name(f"e{i}"), "value": value} for i in range(names.start, names.stop)]


def merge_steps(live: int, patched: int) -> tuple[int, list[dict[str, Any]]]:
    """Steps to merge ``patched`` env items, half of them new, into ``live``."""
    target = {"spec": {"containers": [{"name": "main", "env": env(range(live), "old")}]}}
    start = live - patched // 2
    patch = {
        "spec": {"containers": [{"name": "main", "env": env(range(start, start + patched), "new")}]}
    }
    Name.steps = 0
    merged = strategic_merge(target, patch)
    return Name.steps, merged["spec"]["containers"][0]["env"]


@pytest.mark.parametrize("items", [1_000, 8_000])
def test_a_long_named_list_merges_in_a_few_steps_an_item(items: int) -> None:
    steps, merged = merge_steps(items, items)
    assert len(merged) == items + items // 2
    assert [e["value"] for e in merged[items - items // 2 : items + 1]] == ["new"] * (
        items // 2 + 1
    )
    assert steps <= 4 * (items + items), steps  # a scan per item: items * items / 2
