"""The ReplicaSet controller's per-pod facts, kept between syncs: a pod
version seen before is not worked out again, a changed pod (a new version)
or a changed owner spec is, and only the pods of the last sync are kept."""

from __future__ import annotations

from typing import Any

from shoal import selectors
from shoal.manifest import from_dict
from shoal.plugins.controllers.podfacts import FactsCache


def replica_set(generation: int = 1, template_labels: dict[str, str] | None = None) -> Any:
    rs = from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "web", "namespace": "default", "uid": "rs-uid"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": template_labels or {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        }
    )
    rs.metadata.generation = generation
    return rs


def pod(
    name: str, ready: bool = False, labels: dict[str, str] | None = None, version: str = "1"
) -> Any:
    p = from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": "default",
                "labels": labels or {"app": "web"},
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                     "uid": "rs-uid", "controller": True}
                ],
            },
            "spec": {"containers": [{"name": "c", "image": "x"}]},
            "status": {"phase": "Running"},
        }
    )  # fmt: skip
    p.metadata.uid, p.metadata.resource_version = f"{name}-uid", version
    if ready:
        c = p.status.conditions.add(type="Ready", status="True")
        c.last_transition_time.seconds = 1_000
    return p


def selector(rs: Any) -> selectors.LabelSelector:
    return selectors.label_selector_from_proto(rs.spec.selector)


def test_a_pod_object_seen_before_is_not_worked_out_again() -> None:
    cache, rs = FactsCache(), replica_set()
    a, b = pod("a"), pod("b", ready=True)
    with cache.sync("default/web", rs, selector(rs)) as facts:
        first = facts(a), facts(b)
    assert first[0].matches and first[0].active and first[0].labeled
    assert (first[0].ready_since, first[1].ready_since) == (None, 1_000)
    with cache.sync("default/web", rs, selector(rs)) as facts:
        assert facts(a) is first[0] and facts(b) is first[1]


def test_a_changed_pod_is_a_new_object_and_is_worked_out_anew() -> None:
    cache, rs = FactsCache(), replica_set()
    a = pod("a")
    with cache.sync("default/web", rs, selector(rs)) as facts:
        assert facts(a).ready_since is None
    now_ready = pod("a", ready=True, version="2")  # what the informer holds after the change
    with cache.sync("default/web", rs, selector(rs)) as facts:
        assert facts(now_ready).ready_since == 1_000


def test_a_new_owner_generation_works_every_pod_out_anew() -> None:
    cache = FactsCache()
    a = pod("a", labels={"app": "web", "tier": "front"})
    rs = replica_set()
    with cache.sync("default/web", rs, selector(rs)) as facts:
        assert facts(a).labeled
    changed = replica_set(generation=2, template_labels={"app": "web", "tier": "back"})
    with cache.sync("default/web", changed, selector(changed)) as facts:
        assert not facts(a).labeled


def test_only_the_pods_of_the_last_sync_are_kept() -> None:
    cache, rs = FactsCache(), replica_set()
    a, b = pod("a"), pod("b")
    with cache.sync("default/web", rs, selector(rs)) as facts:
        kept = facts(a)
        facts(b)
    with cache.sync("default/web", rs, selector(rs)) as facts:
        facts(b)  # a is gone from the informer
    with cache.sync("default/web", rs, selector(rs)) as facts:
        assert facts(a) is not kept and facts(a) == kept
    cache.forget("default/web")
    with cache.sync("default/web", rs, selector(rs)) as facts:
        assert facts(b).matches
