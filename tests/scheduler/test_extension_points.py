"""The framework's extension points beyond filter and score: PreFilter,
PostFilter, PreScore, Reserve/Unreserve, Permit, PreBind, Bind, PostBind,
each answering with a Status."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from shoal.client import Client
from shoal.contracts import BindPlugin, FilterPlugin, ReservePlugin, ScorePlugin
from shoal.plugins.scheduler.framework import FitError, Framework
from shoal.plugins.scheduler.scheduler import Scheduler
from shoal.scheduling import Status

from tests.integration.helpers import eventually
from tests.scheduler.builders import node, pod
from tests.scheduler.test_policies import builtin_plugins, cluster
from tests.scheduler.test_scheduler_integration import running


class Journal:
    """A plugin at every extension point, writing down what it was asked."""

    def __init__(self, **answers: Any) -> None:
        self.calls: list[str] = []
        self.answers = answers

    def _answer(self, point: str) -> Any:
        self.calls.append(point)
        return self.answers.get(point)

    def pre_filter(self, pod: Any, state: Any) -> Any:
        return self._answer("pre_filter")

    def filter(self, pod: Any, node: Any, state: Any) -> Any:
        return self._answer("filter")

    def post_filter(self, pod: Any, state: Any, reasons: Mapping[str, int]) -> Any:
        self.calls.append(f"post_filter {dict(reasons)}")

    def pre_score(self, pod: Any, nodes: Any, state: Any) -> Any:
        return self._answer("pre_score")

    def score(self, pod: Any, node: Any, state: Any) -> int:
        self.calls.append("score")
        return 50

    def reserve(self, pod: Any, node: str, state: Any) -> Any:
        return self._answer("reserve")

    def unreserve(self, pod: Any, node: str, state: Any) -> None:
        self.calls.append("unreserve")

    async def permit(self, pod: Any, node: str, state: Any) -> Any:
        wait = self.answers.get("permit_wait")
        if wait is not None:
            await wait.wait()
        return self._answer("permit")

    async def pre_bind(self, pod: Any, node: str, state: Any) -> Any:
        return self._answer("pre_bind")

    async def bind(self, pod: Any, node: str, state: Any) -> Any:
        return self._answer("bind") or Status.skip()

    def post_bind(self, pod: Any, node: str, state: Any) -> None:
        self.calls.append("post_bind")


def test_plugins_are_sorted_by_the_protocols_they_satisfy() -> None:
    journal = Journal()
    assert isinstance(journal, FilterPlugin) and isinstance(journal, BindPlugin)
    framework = Framework([*builtin_plugins(), ("journal", journal)])
    assert [p.name for p in framework.points["reserve"]] == ["journal"]
    assert "journal" in [p.name for p in framework.points["filter"]]
    assert "NodeReady" not in [p.name for p in framework.points["score"]]
    assert not isinstance(object(), ReservePlugin) and not isinstance(object(), ScorePlugin)


def test_a_pre_filter_skip_leaves_the_plugins_filter_out() -> None:
    journal = Journal(pre_filter=Status.skip(), filter="never asked")
    assert Framework([("journal", journal)]).schedule(pod("p"), cluster([node("n1")])) == "n1"
    assert "filter" not in journal.calls


def test_a_pre_filter_rejection_fits_nowhere_and_runs_post_filter() -> None:
    journal = Journal(pre_filter=Status.unschedulable("pod(s) were not welcome"))
    with pytest.raises(FitError, match="0/2 nodes are available: 2 pod\\(s\\) were not welcome"):
        Framework([("journal", journal)]).schedule(pod("p"), cluster([node("a"), node("b")]))
    assert journal.calls == ["pre_filter", "post_filter {'pod(s) were not welcome': 2}"]


def test_filter_may_answer_with_a_status() -> None:
    journal = Journal(filter=Status.unschedulable("node(s) were grumpy"))
    with pytest.raises(FitError, match="1 node\\(s\\) were grumpy"):
        Framework([("journal", journal)]).schedule(pod("p"), cluster([node("a")]))
    fine = Journal(filter=Status.success())
    assert Framework([("journal", fine)]).schedule(pod("p"), cluster([node("a")])) == "a"


def test_a_pre_score_skip_leaves_the_plugins_score_out() -> None:
    journal = Journal(pre_score=False)
    Framework([("journal", journal)]).schedule(pod("p"), cluster([node("a"), node("b")]))
    assert "pre_score" in journal.calls and "score" not in journal.calls


def test_a_failed_reserve_unreserves_those_before_it_in_reverse() -> None:
    order: list[str] = []

    class Reserving:
        def __init__(self, name: str, answer: Any) -> None:
            self.name, self.answer = name, answer

        def reserve(self, pod: Any, node: str, state: Any) -> Any:
            order.append(f"reserve {self.name}")
            return self.answer

        def unreserve(self, pod: Any, node: str, state: Any) -> None:
            order.append(f"unreserve {self.name}")

    framework = Framework(
        [("a", Reserving("a", None)), ("b", Reserving("b", Status.unschedulable("full")))]
    )
    status = framework.run_reserve(pod("p"), "n1", {})
    assert status.is_rejected() and status.plugin == "b" and status.message == "full"
    assert order == ["reserve a", "reserve b", "unreserve b", "unreserve a"]


async def test_permit_can_make_a_pod_wait() -> None:
    release = asyncio.Event()
    framework = Framework([("journal", Journal(permit_wait=release))])
    waiting = asyncio.create_task(framework.run_permit(pod("p"), "n1", {}))
    await asyncio.sleep(0)
    assert not waiting.done()
    release.set()
    assert (await waiting).is_success()


async def test_a_permit_that_waits_too_long_rejects_the_pod() -> None:
    framework = Framework([("journal", Journal(permit_wait=asyncio.Event()))])
    framework.profile.permit_timeout = 0.01
    status = await framework.run_permit(pod("p"), "n1", {})
    assert status.is_rejected() and "timeout" in status.message and status.plugin == "journal"


async def test_the_binding_cycle_in_a_running_scheduler(shoal_client: Client) -> None:
    journal = Journal()
    scheduler = Scheduler(shoal_client, plugins=[*builtin_plugins(), ("journal", journal)])
    async with running(scheduler):
        await shoal_client.create(node("n1"))
        await shoal_client.create(pod("web"))
        bound = await eventually(lambda: _node_of(shoal_client, "web"))
        assert bound == "n1"
        await eventually(lambda: "post_bind" in journal.calls)
    points = [c for c in journal.calls if c in ("reserve", "permit", "pre_bind", "bind")]
    assert points == ["reserve", "permit", "pre_bind", "bind"]
    assert "unreserve" not in journal.calls


async def test_a_refused_permit_unreserves_and_the_pod_waits(shoal_client: Client) -> None:
    journal = Journal(permit=Status.unschedulable("not yet"))
    scheduler = Scheduler(
        shoal_client, plugins=[*builtin_plugins(), ("journal", journal)], initial_backoff=0.05
    )
    async with running(scheduler):
        await shoal_client.create(node("n1"))
        await shoal_client.create(pod("web"))
        await eventually(lambda: "unreserve" in journal.calls)
        events = await eventually(lambda: _events(shoal_client, "web", "FailedScheduling"))
        assert events[0].message == "journal: not yet"
        assert await _node_of(shoal_client, "web") == ""


async def test_a_bind_plugin_binds_instead_of_the_default_binder(shoal_client: Client) -> None:
    bound: list[tuple[str, str]] = []

    class Recording:
        async def bind(self, pod: Any, node: str, state: Any) -> Status:
            bound.append((pod.metadata.name, node))
            return Status.success()

    scheduler = Scheduler(shoal_client, plugins=[*builtin_plugins(), ("recording", Recording())])
    async with running(scheduler):
        await shoal_client.create(node("n1"))
        await shoal_client.create(pod("web"))
        await eventually(lambda: bound == [("web", "n1")])
        assert scheduler.bound == 1
    assert await _node_of(shoal_client, "web") == ""  # the plugin chose not to write it


async def _node_of(client: Client, name: str) -> str:
    return str((await client.get("Pod", name, "default")).spec.node_name)


async def _events(client: Client, name: str, reason: str) -> list[Any]:
    listed = await client.list(
        "Event", "default", field_selector=f"involvedObject.name={name},reason={reason}"
    )
    return list(listed.items)
