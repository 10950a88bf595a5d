"""The proof that kinds are plugins: examples/shoal-widgets, a package
shoal never imports, adds the Widget kind (its own message and strategy),
a controller that reconciles widgets, and a ``shoal grow`` verb. It is
served by ``shoal`` and by kubectl through the gateway like a built-in kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.examples.conftest import EXAMPLE, WidgetsCluster
from tests.integration.helpers import eventually

kubectl_test = pytest.mark.usefixtures("needs_kubectl")


def widget(name: str, **spec: Any) -> str:
    return json.dumps(
        {
            "apiVersion": "example.shoal.dev/v1",
            "kind": "Widget",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


async def status_of(cluster: WidgetsCluster, name: str) -> dict[str, Any]:
    got = await cluster.shoal("get", "widget", name, "-o", "json")
    assert got.code == 0, got.err
    return dict(json.loads(got.out).get("status") or {})


async def reconciled(cluster: WidgetsCluster, name: str, size: int) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        status = await status_of(cluster, name)
        return status if status.get("phase") == "Ready" and status.get("size") == size else None

    result: dict[str, Any] = await eventually(done, timeout=30, interval=0.1)
    return result


def test_shoal_never_imports_the_example() -> None:
    assert "shoal_widgets" not in sys.modules


async def test_the_plugin_is_found_by_its_entry_point(widgets_cluster: WidgetsCluster) -> None:
    listed = await widgets_cluster.shoal("plugins", "--json")
    assert listed.code == 0, listed.err
    (widgets,) = [p for p in json.loads(listed.out) if p["name"] == "widgets"]
    assert widgets["status"] == "loaded" and widgets["source"] == "shoal-widgets 0.1.0"
    assert set(widgets["hooks"]) == {
        "register_kinds",
        "register_controllers",
        "register_ctl_commands",
    }


async def test_a_widget_made_with_shoal_is_defaulted_and_reconciled(
    widgets_cluster: WidgetsCluster,
) -> None:
    made = await widgets_cluster.shoal("apply", "-f", "-", input=widget("by-shoal", size=2))
    assert made.code == 0, made.err
    assert made.out.strip() == "widget.example.shoal.dev/by-shoal created"
    status = await reconciled(widgets_cluster, "by-shoal", 2)
    assert status["selector"] == "widget=by-shoal" and status["observedGeneration"] == 1
    got = await widgets_cluster.shoal("get", "widget", "by-shoal", "-o", "json")
    assert json.loads(got.out)["spec"] == {"size": 2, "colour": "blue"}  # defaulted


async def test_shoal_get_prints_the_strategys_columns(widgets_cluster: WidgetsCluster) -> None:
    await widgets_cluster.shoal("apply", "-f", "-", input=widget("columns", size=3, colour="red"))
    await reconciled(widgets_cluster, "columns", 3)
    table = await widgets_cluster.shoal("get", "wd", "columns")
    header, row = table.out.splitlines()
    assert header.split() == ["NAME", "SIZE", "COLOUR", "PHASE", "AGE"]
    assert row.split()[:4] == ["columns", "3/3", "red", "Ready"]
    wide = await widgets_cluster.shoal("get", "widgets", "columns", "-o", "wide")
    assert wide.out.splitlines()[0].split()[-1] == "SELECTOR"
    assert wide.out.splitlines()[1].split()[-1] == "widget=columns"
    everything = await widgets_cluster.shoal("get", "all")  # the strategy's category
    assert "widget.example.shoal.dev/columns" in everything.out, everything.err


async def test_the_verb_grows_a_widget_and_the_controller_follows(
    widgets_cluster: WidgetsCluster,
) -> None:
    await widgets_cluster.shoal("apply", "-f", "-", input=widget("growing", size=1))
    await reconciled(widgets_cluster, "growing", 1)
    grown = await widgets_cluster.shoal("grow", "growing", "--by", "3")
    assert grown.code == 0, grown.err
    assert grown.out.strip() == "widget.example.shoal.dev/growing grown to 4 parts"
    status = await reconciled(widgets_cluster, "growing", 4)
    assert status["observedGeneration"] == 2
    missing = await widgets_cluster.shoal("grow", "nobody")
    assert missing.code != 0 and "not found" in missing.err and "Traceback" not in missing.err


async def test_shoal_scale_reads_and_writes_the_strategys_scale_paths(
    widgets_cluster: WidgetsCluster,
) -> None:
    shoal = widgets_cluster.shoal
    await shoal("apply", "-f", "-", input=widget("scaled", size=1))
    scaled = await shoal("scale", "widget", "scaled", "--replicas=3")
    assert scaled.out == "widget.example.shoal.dev/scaled scaled\n", scaled.err
    await reconciled(widgets_cluster, "scaled", 3)
    wrong = await shoal("scale", "wd/scaled", "--replicas=2", "--current-replicas=5")
    assert wrong.code != 0 and "expected replicas to be 5, was 3" in wrong.err
    checked = await shoal("scale", "wd/scaled", "--replicas=2", "--current-replicas=3")
    assert checked.code == 0, checked.err
    await reconciled(widgets_cluster, "scaled", 2)


async def test_shoal_refuses_an_invalid_widget_with_its_fields(
    widgets_cluster: WidgetsCluster,
) -> None:
    bad = await widgets_cluster.shoal(
        "apply", "-f", "-", input=widget("bad", size=101, colour="purple")
    )
    assert bad.code != 0 and "Traceback" not in bad.err
    assert "spec.size: Invalid value: 101" in bad.err
    assert 'spec.colour: Unsupported value: "purple"' in bad.err
    assert (await widgets_cluster.shoal("get", "widget", "bad")).code != 0  # nothing stored


@kubectl_test
async def test_kubectl_serves_widgets_through_the_gateway(
    widgets_cluster: WidgetsCluster,
) -> None:
    kubectl = widgets_cluster.kubectl
    resources = await kubectl("api-resources", "--api-group", "example.shoal.dev")
    assert resources.out.splitlines()[1].split() == [
        "widgets", "wd", "example.shoal.dev/v1", "true", "Widget",
    ]  # fmt: skip
    made = await kubectl("apply", "-f", "-", input=widget("by-kubectl", colour="green"))
    assert made.code == 0, made.err
    await reconciled(widgets_cluster, "by-kubectl", 1)
    scaled = await kubectl("scale", "widget", "by-kubectl", "--replicas", "5")
    assert scaled.code == 0, scaled.err
    await reconciled(widgets_cluster, "by-kubectl", 5)
    table = await kubectl("get", "widgets", "by-kubectl")
    assert table.out.splitlines()[0].split() == ["NAME", "SIZE", "COLOUR", "PHASE", "AGE"]
    assert table.out.splitlines()[1].split()[:4] == ["by-kubectl", "5/5", "green", "Ready"]
    everything = await kubectl("get", "all")
    assert "widget.example.shoal.dev/by-kubectl" in everything.out  # category "all"


@kubectl_test
async def test_kubectl_gets_the_strategys_refusals(widgets_cluster: WidgetsCluster) -> None:
    kubectl = widgets_cluster.kubectl
    await kubectl("apply", "-f", "-", input=widget("fixed", colour="red"))
    changed = await kubectl(
        "patch", "widget", "fixed", "--type", "merge", "-p", '{"spec":{"colour":"blue"}}'
    )
    assert changed.code != 0
    assert 'The Widget "fixed" is invalid: spec.colour: Invalid value: field is immutable' in (
        changed.err
    )
    bad = await kubectl("apply", "-f", "-", input=widget("negative", size=-1))
    assert bad.code != 0 and "spec.size: Invalid value: -1" in bad.err
    got = await kubectl("get", "widget", "fixed", "-o", "jsonpath={.spec.colour}")
    assert got.out == "red"


def test_the_widget_strategy_keeps_the_contract(widgets_site: Path, tmp_path: Path) -> None:
    """The package's own StrategyContract suite, run as its author runs it:
    pytest in a process where the package is installed."""
    paths = [str(widgets_site), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         str(EXAMPLE / "tests" / "test_widget_strategy.py")],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-3000:]
