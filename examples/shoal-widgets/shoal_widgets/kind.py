"""The Widget kind and its strategy: defaults, validation, what an update
may change, table columns and a scale subresource."""

from __future__ import annotations

from typing import Any

from shoal.age import age
from shoal.kinds import Kind
from shoal.strategy import Causes, ScaleSubresource, Strategy, Table

from shoal_widgets.widgets_pb2 import Widget

API_VERSION = "example.shoal.dev/v1"
COLOURS = ("red", "green", "blue")
MAX_SIZE = 100


def _cells(obj: dict[str, Any], now: float) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        f"{status.get('size', 0)}/{spec.get('size', 0)}",
        spec.get("colour", ""),
        status.get("phase") or "Pending",
        age((obj.get("metadata") or {}).get("creationTimestamp", ""), now),
    ]


def _wide_cells(obj: dict[str, Any], now: float) -> list[str]:
    return [(obj.get("status") or {}).get("selector") or "<none>"]


class WidgetStrategy(Strategy):
    categories = ("all",)
    table = Table(["SIZE", "COLOUR", "PHASE", "AGE"], _cells, ["SELECTOR"], _wide_cells)
    scale = ScaleSubresource(".spec.size", ".status.size", ".status.selector")
    reset_status_on_create = True  # the controller owns the status

    def default(self, obj: Any) -> None:
        if not obj.spec.HasField("size"):
            obj.spec.size = 1
        if not obj.spec.colour:
            obj.spec.colour = "blue"

    def validate(self, obj: Any) -> Causes:
        causes: Causes = []
        if not 0 <= obj.spec.size <= MAX_SIZE:
            causes.append(
                (
                    "spec.size",
                    f"Invalid value: {obj.spec.size}: must be between 0 and {MAX_SIZE}, inclusive",
                )
            )
        if obj.spec.colour not in COLOURS:
            supported = ", ".join(f'"{c}"' for c in COLOURS)
            causes.append(
                (
                    "spec.colour",
                    f'Unsupported value: "{obj.spec.colour}": supported values: {supported}',
                )
            )
        return causes

    def validate_update(self, old: Any, new: Any) -> Causes:
        if new.spec.colour != old.spec.colour:
            return [("spec.colour", "Invalid value: field is immutable")]
        return []


WIDGET = Kind(
    kind="Widget",
    api_version=API_VERSION,
    plural="widgets",
    singular="widget",
    short_names=("wd",),
    namespaced=True,
    message=Widget,
    has_status=True,
    strategy=WidgetStrategy(),
)
