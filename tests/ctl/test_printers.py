"""Unit tests: ages, pod STATUS, tables, JSONPath, go-templates, custom columns."""

from __future__ import annotations

import pytest
from shoal.age import human_duration
from shoal.ctl.printers import Printer
from shoal.ctl.printers.gotemplate import template as go
from shoal.ctl.printers.table import render
from shoal.jsonpath import JSONPathError
from shoal.jsonpath import template as jp
from shoal.plugins.kinds.columns import pod_status


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (182, "3m2s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (10 * 3600, "10h"),
        (52 * 3600, "2d4h"),
        (9 * 86400, "9d"),
        (800 * 86400, "2y70d"),
        (3000 * 86400, "8y"),
    ],
)
def test_human_duration_like_kubectl(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def _pod(**status: object) -> dict:
    return {
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c"}]},
        "status": status,
    }


def test_pod_status_column() -> None:
    assert pod_status(_pod(phase="Running")) == "Running"
    waiting = {"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    assert pod_status(_pod(phase="Running", containerStatuses=[waiting])) == "CrashLoopBackOff"
    done = {"name": "c", "state": {"terminated": {"exitCode": 2}}}
    assert pod_status(_pod(phase="Failed", containerStatuses=[done])) == "ExitCode:2"
    gone = _pod(phase="Running")
    gone["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert pod_status(gone) == "Terminating"
    # Once its node has written it terminal, kubectl 1.27+ shows why it ended.
    ended = _pod(phase="Failed", containerStatuses=[{"name": "c", "state": {"terminated": {
        "exitCode": 143, "reason": "Error"}}}])  # fmt: skip
    ended["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert pod_status(ended) == "Error"
    lost = _pod(phase="Running", reason="NodeLost")
    lost["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert pod_status(lost) == "Unknown"
    assert pod_status(_pod()) == "Pending"


def test_table_alignment_and_style() -> None:
    text = render(["NAME", "STATUS"], [["a", "Running"], ["longer", "x"]])
    assert text == "NAME     STATUS\na        Running\nlonger   x"
    styled = render(["A", "B"], [["x", "y"]], style=lambda i, c: f"<{c}>")
    assert styled.splitlines() == ["A   B", "<x   ><y>"]


DATA = {
    "items": [
        {
            "metadata": {"name": "a", "labels": {"app": "x"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "n": 2},
        },
        {"metadata": {"name": "b"}, "status": {"n": 1}},
    ]
}


def test_jsonpath() -> None:
    assert jp("{.items[*].metadata.name}", DATA) == "a b"
    assert jp('{range .items[*]}{.metadata.name}{"\\n"}{end}', DATA) == "a\nb\n"
    assert jp('{.items[0].status.conditions[?(@.type=="Ready")].status}', DATA) == "True"
    assert jp("{.items[?(@.status.n>1)].metadata.name}", DATA) == "a"
    assert jp("{..name}", DATA) == "a b"
    assert jp("{.items[-1:].metadata.name} {.items[0].metadata.labels}", DATA) == 'b {"app":"x"}'
    with pytest.raises(JSONPathError):
        jp("{range .items[*]}{.x}", DATA)


def test_go_template() -> None:
    text = '{{range .items}}{{.metadata.name}}={{index .metadata.labels "app"}};{{end}}'
    assert go(text, DATA) == "a=x;b=<no value>;"
    assert go("{{len .items}} {{if .items}}some{{else}}none{{end}}", DATA) == "2 some"


def test_output_formats() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "ns"}}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    assert Printer("name").text([pod, deploy]) == "pod/web\ndeployment.apps/web"
    assert Printer("jsonpath={.metadata.name}").text([pod], single=True) == "web"
    cols = Printer("custom-columns=NAME:.metadata.name,NS:.metadata.namespace").text([pod])
    assert cols.splitlines() == ["NAME   NS", "web    ns"]
    assert Printer("yaml").text([pod], single=True).startswith("apiVersion: v1\nkind: Pod")
    with pytest.raises(Exception, match="unable to match a printer"):
        Printer("xml")
