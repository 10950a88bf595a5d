"""Label and field selectors applied to objects, for list and watch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shoal.errors import BadRequestError
from shoal.kinds import Kind
from shoal.selectors import SelectorError, parse_field_selector, parse_label_selector

Getter = Callable[[Any], str]

_COMMON: dict[str, Getter] = {
    "metadata.name": lambda o: o.metadata.name,
    "metadata.namespace": lambda o: o.metadata.namespace,
}


def field_getters(kind: Kind) -> dict[str, Getter]:
    """The fields a selector may name: the metadata's, and those the
    kind's strategy adds (``selectable_fields``)."""
    return {**_COMMON, **kind.strategy.selectable_fields}


class ObjectFilter:
    """Both selectors of a list or watch request, parsed once."""

    def __init__(self, kind: Kind, label_selector: str = "", field_selector: str = "") -> None:
        getters = field_getters(kind)
        try:
            self.labels = parse_label_selector(label_selector)
            self.fields = parse_field_selector(field_selector, allowed=list(getters))
        except SelectorError as err:
            raise BadRequestError(str(err)) from None
        self._getters = getters
        self.empty = self.labels.is_empty() and not field_selector.strip()

    def matches(self, obj: Any) -> bool:
        if self.empty:
            return True
        if not self.labels.matches(obj.metadata.labels):
            return False
        if self.fields.is_empty():
            return True
        return self.fields.matches({name: get(obj) for name, get in self._getters.items()})
