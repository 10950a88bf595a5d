"""The structural-schema validator, pruner and defaulter on plain JSON."""

from __future__ import annotations

from typing import Any

import pytest
from shoal.plugins.kinds import crdschema


def fields(schema: dict[str, Any], value: Any) -> list[str]:
    return [path for path, _ in crdschema.validate(schema, value, "spec")]


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "string", "format": "date-time"}, "2024-01-02T03:04:05Z", "soon"),
        ({"type": "string", "format": "date"}, "2024-01-02", "2024-13-02"),
        ({"type": "string", "format": "uuid"}, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "u"),
        ({"type": "string", "format": "ipv4"}, "10.0.0.1", "10.0.0.300"),
        ({"type": "string", "format": "byte"}, "aGk=", "###"),
        ({"type": "integer", "minimum": 1, "exclusiveMinimum": True}, 2, 1),
        ({"type": "integer", "maximum": 5, "exclusiveMaximum": True}, 4, 5),
        ({"type": "integer", "multipleOf": 3}, 9, 10),
        ({"type": "integer", "format": "int32"}, 5, 2**40),
        ({"type": "number"}, 1.5, "1.5"),
        ({"type": "boolean"}, False, 0),
        ({"type": "array", "items": {"type": "integer"}, "maxItems": 1}, [1], [1, 2]),
        ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, [1, 2], [1, 1]),
        ({"type": "object", "maxProperties": 1}, {"a": 1}, {"a": 1, "b": 2}),
        ({"type": "string", "nullable": True}, None, 5),
        ({"x-kubernetes-int-or-string": True}, "80%", [80]),
        ({"type": "string", "maxLength": 2}, "ab", "abc"),
    ],
)
def test_each_keyword_accepts_and_refuses(schema: dict[str, Any], good: Any, bad: Any) -> None:
    assert fields(schema, good) == []
    assert fields(schema, bad) == ["spec"]


def test_required_and_nested_paths() -> None:
    schema = {
        "type": "object",
        "required": ["a"],
        "properties": {"list": {"type": "array", "items": {"type": "object",
                                "properties": {"n": {"type": "integer"}}}}},
    }  # fmt: skip
    assert fields(schema, {"list": [{"n": 1}, {"n": "x"}]}) == ["spec.a", "spec.list[1].n"]


def test_prune_keeps_what_the_schema_describes_or_preserves() -> None:
    schema = {
        "type": "object",
        "properties": {
            "known": {"type": "object", "properties": {"x": {"type": "string"}}},
            "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "map": {"type": "object", "additionalProperties": {"type": "object",
                    "properties": {"k": {"type": "string"}}}},
        },
    }  # fmt: skip
    value = {
        "known": {"x": "1", "y": 2},
        "open": {"any": {"deep": 1}},
        "map": {"a": {"k": "v", "drop": 1}},
        "gone": True,
    }
    assert crdschema.prune(schema, value) == {
        "known": {"x": "1"},
        "open": {"any": {"deep": 1}},
        "map": {"a": {"k": "v"}},
    }


def test_defaults_fill_missing_fields_at_every_depth() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "default": {},
                "properties": {"n": {"type": "integer", "default": 3}},
            }
        },
    }
    assert crdschema.default(schema, {}) == {"spec": {"n": 3}}
    assert crdschema.default(schema, {"spec": {"n": 1}}) == {"spec": {"n": 1}}


def test_structural_check() -> None:
    assert crdschema.check_structural({"type": "object"}, "s") == []
    problems = dict(
        crdschema.check_structural(
            {"type": "object", "properties": {"a": {}, "b": {"type": "thing"},
             "c": {"type": "string", "pattern": "("}, "d": {"type": "array"}}, "bogus": 1},
            "s",
        )
    )  # fmt: skip
    assert set(problems) == {
        "s.bogus", "s.properties[a].type", "s.properties[b].type", "s.properties[c].pattern",
        "s.properties[d].items",
    }  # fmt: skip
