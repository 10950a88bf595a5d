"""What kinds' strategies carry for the generic paths: table columns, the
scale subresource's JSON paths, categories, connect subresources and
selectable fields; the gateway and ``shoal get`` read them, never a kind name."""

from __future__ import annotations

from shoal import kinds
from shoal.apiserver.filters import field_getters
from shoal.ctl.printers.columns import table_for
from shoal.plugins.gateway import discovery
from shoal.plugins.gateway.connect import CONNECT
from shoal.strategy import AGE_TABLE, ScaleSubresource, Table, table_of


def test_scale_paths_read_and_patch_any_place() -> None:
    paths = ScaleSubresource(".spec.size", ".status.count", ".status.selector")
    obj = {"spec": {"size": 4}, "status": {"count": 2, "selector": "app=w"}}
    assert (paths.replicas(obj), paths.status_replicas(obj), paths.selector(obj)) == (4, 2, "app=w")
    assert paths.replicas({}) == 0 and paths.selector({}) == ""
    assert paths.replicas_patch(3) == {"spec": {"size": 3}}


def test_scale_selector_from_a_label_selector_or_a_map() -> None:
    paths = ScaleSubresource(label_selector_path=".spec.selector")
    selector = {"matchLabels": {"b": "2", "a": "1"}}
    assert paths.selector({"spec": {"selector": selector}}) == "a=1,b=2"
    # a replication controller's selector is a map; a label may be called anything
    assert paths.selector({"spec": {"selector": {"matchLabels": "x"}}}) == "matchLabels=x"


def test_a_kind_without_a_table_prints_name_and_age() -> None:
    assert table_of(kinds.resolve("serviceaccounts").strategy) is AGE_TABLE
    assert table_for("NoSuchKind") is AGE_TABLE
    assert list(table_for("Pod", "v1").headers) == ["READY", "STATUS", "RESTARTS", "AGE"]


def test_discovery_and_selectors_follow_the_strategy() -> None:
    pod = kinds.resolve("pods")
    listed = {r["name"]: r for r in discovery.resource_list("v1")["resources"]}  # type: ignore[index]
    assert listed["pods"]["categories"] == ["all"]
    for name in pod.strategy.connect_subresources:
        assert listed[f"pods/{name}"]["kind"] == CONNECT[name].kind
    assert listed["pods/log"]["verbs"] == ["get"]
    assert listed["pods/exec"]["verbs"] == ["create", "get"]
    assert listed["pods/proxy"]["verbs"] == ["create", "delete", "get", "patch", "update"]
    assert "pods/scale" not in listed and "replicationcontrollers/scale" in listed
    assert "spec.nodeName" in field_getters(pod)
    assert "spec.nodeName" not in field_getters(kinds.resolve("configmaps"))


def test_table_carries_wide_columns_and_name_placement() -> None:
    events = table_of(kinds.resolve("events").strategy)
    assert isinstance(events, Table) and events.name_wide
    assert not table_of(kinds.resolve("pods").strategy).name_wide


def test_get_all_is_the_kinds_in_the_category() -> None:
    from shoal.ctl.resources import parse_targets

    # (leaving out the custom kinds CRD tests in this process may have added)
    every = [t.kind.plural for t in parse_targets(["all"]) if "example.com" not in t.kind.group]
    assert every == [
        "pods", "replicationcontrollers", "services",
        "daemonsets", "deployments", "replicasets", "statefulsets",
        "horizontalpodautoscalers", "cronjobs", "jobs",
    ]  # fmt: skip
    assert all("all" in kinds.resolve(p).strategy.categories for p in every)


def test_the_kernel_the_gateway_and_the_kinds_import_no_ctl() -> None:
    """Table columns live with the kinds: the gateway prints them without ctl."""
    import ast
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    found = []
    for top in ("kernel", "plugins/gateway", "plugins/kinds"):
        for path in sorted((root / top).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                found += [
                    f"{path.relative_to(root)}: {n}" for n in names if n.startswith("shoal.ctl")
                ]
    assert found == []
