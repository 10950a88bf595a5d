"""The arithmetic behind benchmark figures (bench/): what a printed figure
means must be what it is computed as."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bench.bench_agent import marginal
from bench.density import events_settled
from bench.engine_baseline import LABEL, percentile, plain_starts


def test_percentile_is_nearest_rank() -> None:
    samples = [float(v) for v in range(30, 0, -1)]
    assert percentile(samples, 0.5) == 15.0
    assert percentile(samples, 0.9) == 27.0
    assert percentile(samples, 1.0) == 30.0
    assert percentile([7.0], 0.9) == 7.0


def test_a_node_costs_the_difference_over_a_smaller_run_not_a_share_of_the_process() -> None:
    mib = 2**20
    base = {"nodes": 1, "rss_bytes": 60 * mib, "cpu_cores": 0.001}
    run = {"nodes": 101, "rss_bytes": 61 * mib, "cpu_cores": 0.011}
    marginal(run, base)
    assert run["marginal_kib_per_node"] == 10.2  # 1 MiB over 100 more nodes
    assert run["marginal_cpu_ms_per_s_per_node"] == 0.1


class _Container:
    def __init__(self, engine: _Engine, reloads_until_running: int) -> None:
        self.engine, self.left = engine, reloads_until_running
        self.attrs: dict[str, Any] = {"State": {"Running": False}}

    def start(self) -> None:
        self.engine.log.append("start")

    def reload(self) -> None:
        self.engine.log.append("reload")
        self.left -= 1
        self.attrs["State"]["Running"] = self.left <= 0

    def remove(self, force: bool = False) -> None:
        self.engine.log.append("remove")


class _Containers:
    def __init__(self, engine: _Engine) -> None:
        self.engine = engine

    def create(self, image: str, command: list[str], labels: dict[str, str]) -> _Container:
        assert labels == {LABEL: "plain"}
        self.engine.log.append("create")
        container = _Container(self.engine, reloads_until_running=3)
        self.engine.made.append(container)
        return container

    def list(self, all: bool, filters: dict[str, str]) -> list[_Container]:
        assert all and filters == {"label": f"{LABEL}=plain"}
        return list(self.engine.made)


class _Engine:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.made: list[_Container] = []
        self.containers = _Containers(self)

    def close(self) -> None:
        self.log.append("close")


def test_plain_start_waits_for_running_and_leaves_removal_out(monkeypatch: Any) -> None:
    engine = _Engine()
    monkeypatch.setattr("bench.engine_baseline.engine_client", lambda name: engine)
    samples = plain_starts("docker", 2)
    assert len(samples) == 2
    one = ["create", "start", "reload", "reload", "reload"]  # until State.Running
    assert engine.log == one * 3 + ["remove"] * 3 + ["close"]  # warm-up + 2, then removal


def test_events_settle_at_their_last_write_not_when_the_wait_ends() -> None:
    counts = iter([1, 5, 9, 9])
    seen: list[float] = []

    def scrape() -> str:
        n = next(counts, 9)
        seen.append(time.monotonic())
        return (
            f'apiserver_request_total{{verb="POST",resource="events",code="201"}} {n}\n'
            'apiserver_request_total{verb="PUT",resource="pods",subresource="status"} 3\n'
        )

    began = time.monotonic()
    settled = asyncio.run(events_settled(scrape, began, quiet=0.3))
    assert settled == pytest.approx(seen[2] - began, abs=0.05)  # the scrape that saw 9 first
    assert seen[-1] - seen[2] >= 0.3  # and it waited out the quiet time after it
