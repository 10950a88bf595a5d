"""The Widget strategy keeps shoal's strategy contract (run with the package
installed: ``pip install -e . && pytest``)."""

from __future__ import annotations

from shoal.testing import StrategyContract

WIDGET = {
    "apiVersion": "example.shoal.dev/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "namespace": "default"},
    "spec": {"size": 3, "colour": "red"},
}


def widget(**spec: object) -> dict[str, object]:
    return {**WIDGET, "spec": spec}


class TestWidgetStrategy(StrategyContract):
    kind = "widgets.example.shoal.dev"
    valid = [WIDGET, widget(), widget(size=0, colour="green")]
    invalid = [
        (widget(size=-1), "spec.size"),
        (widget(size=101), "spec.size"),
        (widget(colour="purple"), "spec.colour"),
    ]
    immutable = [(WIDGET, {"spec": {"colour": "blue"}}, "spec.colour")]
