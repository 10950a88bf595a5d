"""Scheduler profiles: plugin order per extension point and score weights
from a KubeSchedulerConfiguration (``--scheduler-config``)."""

from __future__ import annotations

from typing import Any

import pytest
from shoal.client import Client
from shoal.plugins.scheduler.default_scheduler import scheduler_factory
from shoal.plugins.scheduler.framework import Framework
from shoal.plugins.scheduler.profile import SchedulerConfigError, load_scheduler_config
from shoal.plugins.scheduler.scheduler import Scheduler

from tests.integration.helpers import eventually
from tests.scheduler.builders import node, pod
from tests.scheduler.test_policies import builtin_plugins, cluster
from tests.scheduler.test_scheduler_integration import running

FILTERS = [
    "NodeReady",
    "TaintToleration",
    "NodeAffinity",
    "NodePorts",
    "NodeResourcesFit",
    "InterPodAffinity",
    "PodTopologySpread",
    "VolumeBinding",
]


class OnlyOdd:
    def filter(self, pod: Any, node: Any, state: Any) -> str | None:
        return None if int(node.metadata.name[-1]) % 2 else "node(s) were even"

    def score(self, pod: Any, node: Any, state: Any) -> int:
        return 0


def plugins() -> list[tuple[str, Any]]:
    return [*builtin_plugins(), ("OnlyOdd", OnlyOdd())]


def framework(config: dict[str, Any], index: int = 0) -> Framework:
    profile = load_scheduler_config(config, plugins())[index]
    return Framework(plugins(), profile=profile)


def names(fw: Framework, point: str) -> list[str]:
    return [p.name for p in fw.points[point]]


def test_the_default_profile_is_registration_order_with_the_plugins_weights() -> None:
    fw = Framework(builtin_plugins())
    assert names(fw, "filter") == FILTERS
    assert [(p.name, p.weight) for p in fw.scores] == [
        ("PodTopologySpread", 2),
        ("LeastAllocated", 1),
        ("BalancedAllocation", 1),
        ("SelectorSpread", 2),
        ("NodeAffinityPreferred", 2),
        ("InterPodAffinityPreferred", 2),
        ("TaintTolerationPreferred", 3),
    ]
    assert names(fw, "postFilter") == ["DefaultPreemption"]
    assert names(framework({}), "filter") == [*FILTERS, "OnlyOdd"]


def test_disabled_enabled_and_weights() -> None:
    fw = framework(
        {
            "profiles": [
                {
                    "plugins": {
                        "filter": {
                            "disabled": [{"name": "NodePorts"}],
                            "enabled": [{"name": "NodeReady"}],
                        },
                        "score": {
                            "disabled": [{"name": "*"}],
                            "enabled": [{"name": "LeastAllocated", "weight": 5}],
                        },
                    }
                }
            ]
        }
    )
    assert names(fw, "filter") == [
        "TaintToleration",
        "NodeAffinity",
        "NodeResourcesFit",
        "InterPodAffinity",
        "PodTopologySpread",
        "VolumeBinding",
        "OnlyOdd",
        "NodeReady",  # named in enabled: moved to its place there
    ]
    assert [(p.name, p.weight) for p in fw.scores] == [("LeastAllocated", 5)]


def test_multi_point_disables_a_plugin_everywhere() -> None:
    fw = framework({"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "OnlyOdd"}]}}}]})
    assert "OnlyOdd" not in names(fw, "filter") + names(fw, "score")
    assert fw.schedule(pod("p"), cluster([node("n2")])) == "n2"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"profiles": [{"plugins": {"filter": {"enabled": [{"name": "Nope"}]}}}]},
            "profiles[0].plugins.filter.enabled[0]: unknown plugin 'Nope'; available: ",
        ),
        (
            {"profiles": [{"plugins": {"score": {"enabled": [{"name": "NodeReady"}]}}}]},
            "profiles[0].plugins.score: plugin 'NodeReady' does not implement score",
        ),
        (
            {"profiles": [{"plugins": {"filters": {}}}]},
            "profiles[0].plugins: unknown extension point 'filters'",
        ),
        (
            {"profiles": [{"plugins": {"score": {"enabled": [{"name": "OnlyOdd", "weight": 0}]}}}]},
            "profiles[0].plugins.score.enabled[0].weight: must be a whole number >= 1",
        ),
        ({"profiles": [{}, {}]}, "duplicate schedulerName 'default-scheduler'"),
        ({"apiVersion": "v1"}, "apiVersion must be one of kubescheduler.config.k8s.io/v1"),
        ({"percentageOfNodesToScore": 101}, "percentageOfNodesToScore must be 0..100"),
        ({"profiles": [{"pluginz": {}}]}, "profiles[0]: unknown field 'pluginz'"),
    ],
)
def test_a_bad_config_names_what_is_wrong(config: dict[str, Any], message: str) -> None:
    with pytest.raises(SchedulerConfigError) as err:
        load_scheduler_config(config, plugins())
    assert message in str(err.value)


async def test_each_profile_serves_its_scheduler_name(shoal_client: Client) -> None:
    without_odd = {"multiPoint": {"disabled": [{"name": "OnlyOdd"}]}}
    config = {
        "profiles": [
            {"schedulerName": "default-scheduler", "plugins": without_odd},
            {"schedulerName": "odd-scheduler"},  # the defaults: OnlyOdd too
        ]
    }
    profiles = load_scheduler_config(config, plugins())
    scheduler = Scheduler(shoal_client, plugins=plugins(), profiles=profiles)
    async with running(scheduler):
        await shoal_client.create(node("n2"))
        await shoal_client.create(node("n3"))
        await shoal_client.create(pod("odd", schedulerName="odd-scheduler"))
        await shoal_client.create(pod("ignored", schedulerName="someone-else"))
        for i in range(4):
            await shoal_client.create(pod(f"any-{i}", cpu="1"))
        await eventually(lambda: _placed(shoal_client, 5))
        placed = {p.metadata.name: p.spec.node_name for p in await _pods(shoal_client)}
    assert placed["odd"] == "n3"
    assert placed["ignored"] == ""
    assert {placed[f"any-{i}"] for i in range(4)} == {"n2", "n3"}  # spread by score


async def _pods(client: Client) -> list[Any]:
    return list((await client.list("Pod", "default")).items)


async def _placed(client: Client, count: int) -> bool:
    return sum(bool(p.spec.node_name) for p in await _pods(client)) == count


def test_the_scheduler_factory_reads_the_config_option(shoal_client: Client) -> None:
    config = {"profiles": [{"plugins": {"score": {"disabled": [{"name": "*"}]}}}]}
    scheduler = scheduler_factory(shoal_client, options={"scheduler_config": config})
    assert scheduler.framework.scores == []
    assert names(scheduler.framework, "filter") == FILTERS
