"""The pure parts of the DaemonSet and StatefulSet controllers and
strategies: placement, rollout arithmetic, ordering, defaults, validation."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from shoal.api.v1 import apps_pb2, core_pb2
from shoal.manifest import from_dict
from shoal.plugins.controllers import daemonset_util as du
from shoal.plugins.controllers import history
from shoal.plugins.controllers import statefulset_util as su
from shoal.plugins.kinds import sets

from tests.controllers.test_daemonset import daemonset
from tests.controllers.test_statefulset import statefulset


def node(name: str, labels: dict[str, str] | None = None, taints: Any = ()) -> Any:
    n = core_pb2.Node()
    n.metadata.name = name
    n.metadata.labels.update(labels or {})
    for key, effect in taints:
        n.spec.taints.add(key=key, effect=effect)
    return n


def pod(name: str, revision: str, ready: bool = True, phase: str = "Running") -> Any:
    p = core_pb2.Pod()
    p.metadata.name = name
    p.metadata.labels[history.HASH_LABEL] = revision
    p.status.phase = phase
    if ready:
        stamp = Timestamp(seconds=1)
        p.status.conditions.add(type="Ready", status="True").last_transition_time.CopyFrom(stamp)
    return p


def defaulted_ds(**spec: Any) -> Any:
    ds = daemonset(**spec)
    sets.default_daemon_set(ds)
    return ds


# -- DaemonSet placement --------------------------------------------------------------


def test_daemon_pods_tolerate_node_trouble_but_not_other_taints() -> None:
    spec = du.daemon_pod_spec(defaulted_ds())
    trouble = node("a", taints=[("node.kubernetes.io/unschedulable", "NoSchedule"),
                                ("node.kubernetes.io/not-ready", "NoExecute")])  # fmt: skip
    assert du.placement(spec, trouble) == du.Placement(True, True)
    assert du.placement(spec, node("b", taints=[("gpu", "NoSchedule")])) == du.Placement(
        False, True
    )
    assert du.placement(spec, node("c", taints=[("gpu", "NoExecute")])) == du.Placement(
        False, False
    )


def test_node_selector_and_required_affinity() -> None:
    ds = defaulted_ds()
    ds.spec.template.spec.node_selector["disk"] = "ssd"
    spec = du.daemon_pod_spec(ds)
    assert not du.placement(spec, node("a")).should_run
    assert du.placement(spec, node("a", {"disk": "ssd"})).should_run
    term = spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
    term.node_selector_terms.add().match_expressions.add(key="zone", operator="In", values=["z1"])
    assert not du.placement(spec, node("a", {"disk": "ssd", "zone": "z2"})).should_run
    assert du.placement(spec, node("a", {"disk": "ssd", "zone": "z1"})).should_run


def test_new_pod_is_pinned_by_affinity_and_keeps_the_users_terms() -> None:
    ds = defaulted_ds()
    required = ds.spec.template.spec.affinity.node_affinity
    term = required.required_during_scheduling_ignored_during_execution.node_selector_terms.add()
    term.match_expressions.add(key="zone", operator="In", values=["z1"])
    p = du.new_pod(ds, "node-7", "abc")
    assert not p.spec.node_name
    assert du.target_node(p) == "node-7"
    kept = p.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
    assert kept.node_selector_terms[0].match_expressions[0].key == "zone"
    assert p.metadata.labels[history.HASH_LABEL] == "abc"


# -- DaemonSet rollout arithmetic ------------------------------------------------------


def test_without_surge_deletes_at_most_max_unavailable_and_broken_old_pods_freely() -> None:
    ds = defaulted_ds(updateStrategy={"rollingUpdate": {"maxUnavailable": 2}})
    by_node = {f"n{i}": [pod(f"p{i}", "old")] for i in range(6)}
    by_node["n5"] = [pod("p5", "old", ready=False)]
    plan = du.plan_rollout(ds, by_node, "new", now=100)
    names = {p.metadata.name for p in plan.delete}
    assert "p5" in names and len(names) == 3 and plan.create_on == []
    # one node already without an available pod uses up one of the two
    by_node["n0"] = [pod("q0", "new", ready=False)]
    plan = du.plan_rollout(ds, by_node, "new", now=100)
    assert len(plan.delete) == 2 and "p5" in {p.metadata.name for p in plan.delete}


def test_with_surge_creates_on_up_to_max_surge_nodes_then_deletes_replaced_old_pods() -> None:
    ds = defaulted_ds(updateStrategy={"rollingUpdate": {"maxUnavailable": 0, "maxSurge": "50%"}})
    by_node = {f"n{i}": [pod(f"p{i}", "old")] for i in range(4)}
    plan = du.plan_rollout(ds, by_node, "new", now=100)
    assert plan.create_on == ["n0", "n1"] and plan.delete == []
    by_node["n0"].append(pod("q0", "new"))
    by_node["n1"].append(pod("q1", "new", ready=False))
    plan = du.plan_rollout(ds, by_node, "new", now=100)
    assert [p.metadata.name for p in plan.delete] == ["p0"]
    assert plan.create_on == ["n2"]  # one surge slot is still taken by n1


def test_percentages_round_up_and_zero_zero_still_moves() -> None:
    ds = defaulted_ds(updateStrategy={"rollingUpdate": {"maxUnavailable": "10%"}})
    assert du.surge_and_unavailable(ds, 15) == (0, 2)
    assert du.surge_and_unavailable(ds, 0) == (0, 1)


# -- StatefulSet ordering -----------------------------------------------------------------


def defaulted_sts(replicas: int = 3, **spec: Any) -> Any:
    sts = statefulset(replicas, **spec)
    sts.metadata.name = "web"
    sets.default_stateful_set(sts)
    return sts


def test_ordinals_of_names() -> None:
    sts = defaulted_sts()
    assert [su.ordinal_of(sts, pod(n, "r")) for n in ("web-0", "web-12", "web-01", "webx-1")] == [
        0,
        12,
        None,
        None,
    ]


def test_ordered_ready_waits_for_each_pod_and_removes_the_highest_first() -> None:
    sts = defaulted_sts(3)
    pods = {0: pod("web-0", "r1", ready=False)}
    assert su.plan(sts, pods, [], "r1") == su.Step()  # waits for web-0
    pods[0] = pod("web-0", "r1")
    assert su.plan(sts, pods, [], "r1").create == [1]
    pods.update({1: pod("web-1", "r1"), 2: pod("web-2", "r1")})
    sts.spec.replicas = 1
    condemned = [pods.pop(1), pods.pop(2)]
    assert [p.metadata.name for p in su.plan(sts, pods, condemned, "r1").delete] == ["web-2"]


def test_parallel_creates_everything_and_failed_pods_are_replaced() -> None:
    sts = defaulted_sts(3, podManagementPolicy="Parallel")
    assert su.plan(sts, {}, [], "r1").create == [0, 1, 2]
    failed = pod("web-1", "r1", phase="Failed")
    step = su.plan(sts, {0: pod("web-0", "r1"), 1: failed}, [], "r1")
    assert step.create == [2] and step.delete == [failed]


def test_rolling_update_highest_first_above_the_partition() -> None:
    sts = defaulted_sts(3, updateStrategy={"rollingUpdate": {"partition": 1}})
    pods = {i: pod(f"web-{i}", "r1") for i in range(3)}
    assert su.plan(sts, pods, [], "r2").delete == [pods[2]]
    pods[2] = pod("web-2", "r2")
    assert su.plan(sts, pods, [], "r2").delete == [pods[1]]
    pods[1] = pod("web-1", "r2")
    assert su.plan(sts, pods, [], "r2") == su.Step()  # web-0 is below the partition
    assert su.revision_for(sts, 0, "r1", "r2") == "r1"
    assert su.revision_for(sts, 1, "r1", "r2") == "r2"


def test_new_pod_identity() -> None:
    sts = defaulted_sts()
    p = su.new_pod(sts, sts.spec.template, 4, "web-abc")
    assert (p.metadata.name, p.spec.hostname, p.spec.subdomain) == ("web-4", "web-4", "nginx")
    assert p.metadata.labels[su.POD_INDEX_LABEL] == "4"
    assert p.metadata.labels[su.POD_NAME_LABEL] == "web-4"


# -- defaults, validation, history ------------------------------------------------------------


def test_defaults_as_kubernetes() -> None:
    ds = defaulted_ds()
    rolling = ds.spec.update_strategy.rolling_update
    assert ds.spec.update_strategy.type == "RollingUpdate"
    assert (rolling.max_unavailable.number_value, rolling.max_surge.number_value) == (1, 0)
    assert ds.spec.revision_history_limit == 10
    sts = defaulted_sts()
    assert sts.spec.pod_management_policy == "OrderedReady"
    assert sts.spec.update_strategy.rolling_update.HasField("partition")
    policy = sts.spec.persistent_volume_claim_retention_policy
    assert (policy.when_deleted, policy.when_scaled) == ("Retain", "Retain")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"updateStrategy": {"type": "OnDelete", "rollingUpdate": {"partition": 1}}},
         "spec.updateStrategy.rollingUpdate"),
        ({"updateStrategy": {"rollingUpdate": {"partition": -1}}},
         "spec.updateStrategy.rollingUpdate.partition"),
        ({"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Keep"}},
         "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"),
        ({"replicas": -1}, "spec.replicas"),
        ({"selector": {"matchLabels": {}}}, "spec.selector"),
    ],
)  # fmt: skip
def test_stateful_set_refusals(spec: dict[str, Any], field: str) -> None:
    sts = defaulted_sts(**{k: v for k, v in spec.items() if k != "replicas"})
    if "replicas" in spec:
        sts.spec.replicas = spec["replicas"]
    assert field in {f for f, _ in sets.validate_stateful_set(sts)}


def test_stateful_set_updates_may_change_only_some_fields() -> None:
    old = defaulted_sts()
    new = apps_pb2.StatefulSet()
    new.CopyFrom(old)
    new.spec.replicas = 7
    new.spec.template.spec.containers[0].image = "web:9"
    assert sets.validate_stateful_set_update(old, new) == []
    new.spec.pod_management_policy = "Parallel"
    assert [f for f, _ in sets.validate_stateful_set_update(old, new)] == ["spec"]


def test_percent_validation() -> None:
    ds = defaulted_ds(updateStrategy={"rollingUpdate": {"maxUnavailable": "150%"}})
    causes = dict(sets.validate_daemon_set(ds))
    assert (
        "must not be greater than 100%"
        in causes["spec.updateStrategy.rollingUpdate.maxUnavailable"]
    )


def test_revision_data_round_trips_the_template() -> None:
    ds = defaulted_ds()
    ds.metadata.uid = "u1"
    revision = history.new_revision(ds, history.revision_data(ds), 3, 0)
    assert revision.metadata.name.startswith("agent-")
    assert history.template_of(revision, core_pb2.PodTemplateSpec) == ds.spec.template
    assert history.data_of(revision)["spec"]["template"]["$patch"] == "replace"
    other = history.new_revision(ds, history.revision_data(ds), 3, 1)
    assert other.metadata.name != revision.metadata.name  # a collision renames


def test_the_docs_daemonset_manifest_reads() -> None:
    import yaml

    from tests.gateway.conftest import MANIFESTS

    ds = from_dict(yaml.safe_load((MANIFESTS / "daemonset-fluentd.yaml").read_text()))
    sets.default_daemon_set(ds)
    assert sets.validate_daemon_set(ds) == []


def test_ordered_ready_waits_min_ready_seconds() -> None:
    sts = defaulted_sts(2, minReadySeconds=10)
    pods = {0: pod("web-0", "r1")}  # ready since t=1
    assert su.plan(sts, pods, [], "r1", now=5) == su.Step()
    assert su.plan(sts, pods, [], "r1", now=11).create == [1]


def test_claim_templates_validate_as_claims_and_mounts_of_them_are_fine() -> None:
    claim = {"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"],
             "resources": {"requests": {"storage": "1Gi"}}}}  # fmt: skip
    sts = defaulted_sts(volumeClaimTemplates=[claim])
    sts.spec.template.spec.containers[0].volume_mounts.add(name="www", mount_path="/data")
    assert sets.validate_stateful_set(sts) == []
    assert sts.spec.volume_claim_templates[0].spec.volume_mode == "Filesystem"
    bad = defaulted_sts(
        volumeClaimTemplates=[claim, {**claim, "spec": {"accessModes": ["Sometimes"]}}]
    )
    fields = {f for f, _ in sets.validate_stateful_set(bad)}
    assert "spec.volumeClaimTemplates[1].metadata.name" in fields  # a duplicate
    assert any(f.startswith("spec.volumeClaimTemplates[1].spec.accessModes") for f in fields)
    unmounted = defaulted_sts()
    unmounted.spec.template.spec.containers[0].volume_mounts.add(name="www", mount_path="/data")
    assert any("volumeMounts" in f for f, _ in sets.validate_stateful_set(unmounted))
