"""Selectors in table columns as kubectl prints them (metav1.FormatLabelSelector)."""

from __future__ import annotations

from shoal.plugins.kinds.columns import labels_selector


def test_match_labels_and_expressions() -> None:
    selector = {
        "matchLabels": {"app": "web", "tier": "front"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "qa"]},
            {"key": "zone", "operator": "NotIn", "values": ["a"]},
            {"key": "gpu", "operator": "Exists"},
            {"key": "spot", "operator": "DoesNotExist"},
        ],
    }
    assert labels_selector(selector) == (
        "app=web,tier=front,env in (prod,qa),zone notin (a),gpu,!spot"
    )


def test_a_plain_map_and_nothing() -> None:
    assert labels_selector({"app": "web"}) == "app=web"  # a ReplicationController's
    assert labels_selector(None) == "<none>"
    assert labels_selector({}) == "<none>"
