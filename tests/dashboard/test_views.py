"""The dashboard's rows, without a browser: a node's usage beside its capacity."""

from __future__ import annotations

from shoal import kinds
from shoal.plugins.dashboard import views


def test_a_nodes_row_shows_capacity_and_the_share_used() -> None:
    node = {
        "metadata": {"name": "n1", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    kind = kinds.resolve("Node")
    usage = {"n1": {"cpu": "250m", "memory": "2Gi"}}
    row = views.cells(kind, node, False, usage)
    assert row[0] == "n1" and row[1] == "Ready"
    assert row[-4:] == ["4", "8Gi", "250m (6%)", "2Gi (25%)"]
    assert views.cells(kind, node, False, {})[-2:] == ["-", "-"]  # no metrics API: no usage
    assert views.headers(kind, False)[-4:] == ["CPU", "MEMORY", "CPU USED", "MEMORY USED"]


def test_kinds_the_server_lacks_are_skipped() -> None:
    shown = [k.kind for k in views.present(("Deployment", "NoSuchKind", "Pod"))]
    assert shown == ["Deployment", "Pod"]
