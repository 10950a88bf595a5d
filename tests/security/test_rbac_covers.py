"""The rule comparator of the escalation check, case by case (Kubernetes'
policy_comparator_test cases: wildcards, subresources, resource names and
non-resource URLs)."""

from __future__ import annotations

import pytest
from shoal.apiserver.rbac_covers import Rule, compact_missing, uncovered


def r(verbs: str, groups: str = "", resources: str = "", names: str = "", urls: str = "") -> Rule:
    split = lambda text: tuple(text.split(",")) if text else ()  # noqa: E731
    groups_ = ("",) if resources and not groups else split(groups if groups != "-" else "")
    return Rule(split(verbs), groups_, split(resources), split(names), split(urls))


@pytest.mark.parametrize(
    ("owner", "wanted", "covered"),
    [
        ([r("*", "*", "*")], [r("get,delete", "apps", "deployments")], True),
        ([r("get", "", "pods")], [r("get,list", "", "pods")], False),
        ([r("get,list", "", "pods,services")], [r("list", "", "services")], True),
        ([r("get", "", "pods")], [r("get", "apps", "pods")], False),
        ([r("get", "", "*/scale")], [r("get", "", "deployments/scale")], True),
        ([r("get", "", "*/scale")], [r("get", "", "deployments")], False),
        ([r("get", "", "pods")], [r("get", "", "pods/log")], False),
        ([r("get", "", "pods", names="a")], [r("get", "", "pods", names="a")], True),
        ([r("get", "", "pods", names="a")], [r("get", "", "pods", names="a,b")], False),
        ([r("get", "", "pods", names="a")], [r("get", "", "pods")], False),
        ([r("get", "", "pods")], [r("get", "", "pods", names="a")], True),
        ([r("get", "-", urls="/api/*")], [r("get", "-", urls="/api/v1")], True),
        ([r("get", "-", urls="/api")], [r("get", "-", urls="/apis")], False),
        ([r("*", "-", urls="*")], [r("get,post", "-", urls="/healthz")], True),
        ([r("*", "*", "*")], [r("get", "-", urls="/healthz")], False),
        ([r("get", "", "pods"), r("list", "", "pods")], [r("get,list", "", "pods")], True),
        ([], [], True),
    ],
)
def test_covers(owner: list[Rule], wanted: list[Rule], covered: bool) -> None:
    assert (not uncovered(owner, wanted)) is covered


def test_missing_rules_read_as_kubernetes_prints_them() -> None:
    missing = uncovered(
        [r("get", "", "pods")], [r("get,list,watch", "", "pods,secrets"), r("get", "-", urls="/x")]
    )
    assert compact_missing(missing) == [
        '{APIGroups:[""], Resources:["pods"], Verbs:["list" "watch"]}',
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list" "watch"]}',
        '{NonResourceURLs:["/x"], Verbs:["get"]}',
    ]
