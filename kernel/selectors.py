"""Label and field selectors, with Kubernetes syntax and semantics.

``parse_label_selector("app=web,tier in (front,back),!canary")`` gives a
:class:`LabelSelector`; ``str()`` renders it canonically (requirements sorted
by key, set values sorted), so two equal selectors print the same.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shoal.validation import validate_label_key, validate_label_value


class SelectorError(ValueError):
    """A selector that does not parse or names something invalid."""


class Operator(StrEnum):
    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"


_SET_OPERATORS = (Operator.IN, Operator.NOT_IN)
_PROTO_OPERATORS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}


@dataclass(frozen=True, order=True)
class Requirement:
    """One term of a label selector. ``values`` is sorted and duplicate-free."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(sorted(set(self.values))))

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        match self.operator:
            case Operator.EXISTS:
                return present
            case Operator.DOES_NOT_EXIST:
                return not present
            case Operator.EQUALS | Operator.IN:
                return present and labels[self.key] in self.values
            case _:  # NOT_EQUALS, NOT_IN: a missing label is "not equal"
                return not present or labels[self.key] not in self.values

    def __str__(self) -> str:
        match self.operator:
            case Operator.EXISTS:
                return self.key
            case Operator.DOES_NOT_EXIST:
                return f"!{self.key}"
            case Operator.IN | Operator.NOT_IN:
                return f"{self.key} {self.operator.value} ({','.join(self.values)})"
            case _:
                return f"{self.key}{self.operator.value}{self.values[0]}"


@dataclass(frozen=True)
class LabelSelector:
    """All requirements must match (AND). The empty selector matches everything."""

    requirements: tuple[Requirement, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "requirements", tuple(sorted(self.requirements)))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)

    def is_empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


def new_requirement(key: str, operator: Operator | str, values: Iterable[str] = ()) -> Requirement:
    """A validated :class:`Requirement`; raises :class:`SelectorError`."""
    operator = Operator(operator)
    values = tuple(values)
    errors = [f"invalid label key {key!r}: {e}" for e in validate_label_key(key)]
    errors += [f"invalid label value {v!r}: {e}" for v in values for e in validate_label_value(v)]
    if operator in _SET_OPERATORS and not values:
        errors.append(f"for '{operator.value}' operator, values set can't be empty")
    elif operator in (Operator.EQUALS, Operator.NOT_EQUALS) and len(values) != 1:
        errors.append(f"for '{operator.value}' operator, exactly one value is required")
    elif operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
        errors.append("values set must be empty for exists and does not exist")
    if errors:
        raise SelectorError("; ".join(errors))
    return Requirement(key, operator, values)


# --- parsing -----------------------------------------------------------------

_SET_RE = re.compile(r"(?P<key>\S+)\s+(?P<op>in|notin)(?:\s+|(?=\())(?P<rest>.*)\Z", re.DOTALL)
_EQUALITY_RE = re.compile(r"(?P<key>[^=!\s]*)\s*(?P<op>==|!=|=)\s*(?P<value>.*)\Z", re.DOTALL)


def parse_label_selector(text: str) -> LabelSelector:
    """Parse ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``,
    ``a`` and ``!a``, comma-separated. Blank text is the empty selector."""
    if not text.strip():
        return LabelSelector()
    return LabelSelector(tuple(_parse_requirement(term) for term in _split_terms(text)))


def _split_terms(text: str) -> list[str]:
    # Commas inside "(...)" separate values, not requirements.
    terms, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return terms


def _parse_requirement(term: str) -> Requirement:
    text = term.strip()
    try:
        return _parse_stripped(text)
    except SelectorError as exc:
        raise SelectorError(f'unable to parse requirement: "{text}": {exc}') from None


def _parse_stripped(text: str) -> Requirement:
    if not text:
        raise SelectorError("empty requirement (a stray comma?)")
    if text.startswith("!") and not text.startswith("!="):
        return new_requirement(text[1:].strip(), Operator.DOES_NOT_EXIST)
    if m := _SET_RE.match(text):
        return new_requirement(m["key"], m["op"], _parse_values(m["rest"].strip()))
    if m := _EQUALITY_RE.match(text):
        operator = Operator.NOT_EQUALS if m["op"] == "!=" else Operator.EQUALS
        return new_requirement(m["key"], operator, [m["value"]])
    return new_requirement(text, Operator.EXISTS)


def _parse_values(text: str) -> list[str]:
    if not text.startswith("("):
        raise SelectorError("values must be in parentheses")
    if not text.endswith(")"):
        raise SelectorError("missing ')' after values")
    # As in Kubernetes, "()" is the set holding the empty value, which is
    # also how that set renders.
    return [value.strip() for value in text[1:-1].split(",")]


# --- other sources ----------------------------------------------------------


def label_selector_from_map(labels: Mapping[str, str]) -> LabelSelector:
    """The equality-only selector of a ReplicationController or Service."""
    return LabelSelector(tuple(new_requirement(k, Operator.EQUALS, [v]) for k, v in labels.items()))


def label_selector_from_proto(msg: Any) -> LabelSelector:
    """From ``shoal.api.v1.meta_pb2.LabelSelector`` (``match_labels`` and
    ``match_expressions``). A missing message means different things in
    different places, so callers decide that before calling."""
    requirements = [new_requirement(k, Operator.EQUALS, [v]) for k, v in msg.match_labels.items()]
    for expression in msg.match_expressions:
        operator = _PROTO_OPERATORS.get(expression.operator)
        if operator is None:
            raise SelectorError(f'"{expression.operator}" is not a valid label selector operator')
        requirements.append(new_requirement(expression.key, operator, expression.values))
    return LabelSelector(tuple(requirements))


# --- field selectors ----------------------------------------------------------


@dataclass(frozen=True, order=True)
class FieldRequirement:
    field: str
    operator: Operator  # EQUALS or NOT_EQUALS
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        # As in Kubernetes, a missing field reads as "": "spec.nodeName="
        # finds unscheduled pods.
        equal = fields.get(self.field, "") == self.value
        return equal if self.operator is Operator.EQUALS else not equal

    def __str__(self) -> str:
        return f"{self.field}{self.operator.value}{self.value}"


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "requirements", tuple(sorted(self.requirements)))

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(requirement.matches(fields) for requirement in self.requirements)

    def is_empty(self) -> bool:
        return not self.requirements

    def requires_exact_match(self, field_name: str) -> str | None:
        """The value ``field_name`` must equal, if the selector pins it (an
        index can then answer the query)."""
        for req in self.requirements:
            if req.field == field_name and req.operator is Operator.EQUALS:
                return req.value
        return None

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


_FIELD_TERM_RE = re.compile(r"(?P<field>[^=!]*?)\s*(?P<op>==|!=|=)(?P<value>.*)\Z", re.DOTALL)


def parse_field_selector(text: str, allowed: Collection[str]) -> FieldSelector:
    """Parse ``f=v``, ``f==v``, ``f!=v``, comma-separated, for fields in
    ``allowed`` only. Values may be empty; commas in values are not supported."""
    if not text.strip():
        return FieldSelector()
    requirements = []
    for term in text.split(","):
        m = _FIELD_TERM_RE.match(term.strip())
        if m is None or not m["field"]:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term.strip()}'")
        if m["field"] not in allowed:
            raise SelectorError(f"field label not supported: {m['field']}")
        operator = Operator.NOT_EQUALS if m["op"] == "!=" else Operator.EQUALS
        requirements.append(FieldRequirement(m["field"], operator, m["value"].strip()))
    return FieldSelector(tuple(requirements))
