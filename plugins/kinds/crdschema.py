"""Structural OpenAPI v3 schemas, as a CustomResourceDefinition's versions
carry them: validation (types, required, enum, bounds, lengths, pattern,
formats, items, properties, additionalProperties, ``nullable``,
``x-kubernetes-int-or-string``, ``x-kubernetes-preserve-unknown-fields``),
defaulting (``default``) and pruning of unknown fields, with Kubernetes'
words and field paths.

A general JSON Schema library does not fit: Kubernetes' structural schemas
prune what they do not describe and default while they walk, and its error
messages name fields the way ``kubectl`` users know. Values are plain JSON
(dicts, lists, str, int, float, bool, None).
"""

from __future__ import annotations

import base64
import copy
import datetime
import ipaddress
import json
import re
import uuid
from typing import Any

from shoal.strategy import Causes

Schema = dict[str, Any]
PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
EMBEDDED = "x-kubernetes-embedded-resource"
TYPES = ("object", "array", "string", "integer", "number", "boolean")
_KEYWORDS = {
    "type", "format", "title", "description", "default", "maximum", "exclusiveMaximum",
    "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
    "minItems", "uniqueItems", "multipleOf", "enum", "maxProperties", "minProperties",
    "required", "items", "allOf", "oneOf", "anyOf", "not", "properties",
    "additionalProperties", "nullable", "example", "externalDocs", PRESERVE, INT_OR_STRING,
    EMBEDDED, "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
    "x-kubernetes-validations",
}  # fmt: skip


def _show(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# -- the schema itself -----------------------------------------------------------


def check_structural(schema: Any, path: str) -> Causes:
    """Problems that keep a schema from being structural (every node has a
    type, unless it is int-or-string or preserves unknown fields)."""
    if not isinstance(schema, dict):
        return [(path, f"Invalid value: {_show(schema)}: must be an object")]
    causes: Causes = []
    for key in schema:
        if key not in _KEYWORDS:
            causes.append((_join(path, key), "Forbidden: unknown schema keyword"))
    kind = schema.get("type")
    if kind is None:
        if not (schema.get(INT_OR_STRING) or schema.get(PRESERVE)) and path.count(".") == 0:
            causes.append((_join(path, "type"), "Required value: must not be empty at the root"))
        elif not (schema.get(INT_OR_STRING) or schema.get(PRESERVE)):
            causes.append((_join(path, "type"), "Required value: must not be empty for specified"
                           " object fields"))  # fmt: skip
    elif kind not in TYPES:
        causes.append(
            (_join(path, "type"), f'Unsupported value: "{kind}": supported values: '
             + ", ".join(f'"{t}"' for t in TYPES))
        )  # fmt: skip
    for name, sub in (schema.get("properties") or {}).items():
        causes += check_structural(sub, _join(path, f"properties[{name}]"))
    items = schema.get("items")
    if items is not None:
        causes += check_structural(items, _join(path, "items"))
    elif kind == "array":
        causes.append((_join(path, "items"), "Required value: must be specified"))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        causes += check_structural(extra, _join(path, "additionalProperties"))
        if schema.get("properties"):
            causes.append((_join(path, "additionalProperties"),
                           "Forbidden: additionalProperties and properties are mutually "
                           "exclusive"))  # fmt: skip
    pattern = schema.get("pattern")
    if pattern is not None:
        try:
            re.compile(str(pattern))
        except re.error as err:
            causes.append((_join(path, "pattern"), f"Invalid value: {_show(pattern)}: {err}"))
    return causes


# -- pruning and defaulting --------------------------------------------------------


def prune(schema: Schema | None, value: Any) -> Any:
    """``value`` without the object fields the schema does not describe
    (kept where it says ``x-kubernetes-preserve-unknown-fields``)."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out = {}
        for key, item in value.items():
            if key in props:
                out[key] = prune(props[key], item)
            elif isinstance(extra, dict):
                out[key] = prune(extra, item)
            elif extra is True or schema.get(PRESERVE) or schema.get(EMBEDDED):
                out[key] = item
        return out
    if isinstance(value, list):
        return [prune(schema.get("items"), item) for item in value]
    return value


def default(schema: Schema | None, value: Any) -> Any:
    """``value`` with the schema's ``default`` values filled in where a
    field is missing, at every depth."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, sub in props.items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            value[key] = default(sub, item)
        return value
    if isinstance(value, list):
        return [default(schema.get("items"), item) for item in value]
    return value


# -- validation ----------------------------------------------------------------


def validate(schema: Schema | None, value: Any, path: str = "") -> Causes:
    """Problems with ``value`` against the schema, each (field path, message)."""
    if not isinstance(schema, dict):
        return []
    if value is None:
        if schema.get("nullable"):
            return []
        if schema.get(PRESERVE) and "type" not in schema:
            return []
        return [(path, f'Invalid value: "null": {path} in body must be of type '
                 f'{schema.get("type", "object")}: "null"')]  # fmt: skip
    type_problem = _check_type(schema, value, path)
    if type_problem:
        return [type_problem]
    causes: Causes = []
    causes += _check_enum(schema, value, path)
    if isinstance(value, bool):
        return causes
    if isinstance(value, (int, float)):
        causes += _check_number(schema, value, path)
    elif isinstance(value, str):
        causes += _check_string(schema, value, path)
    elif isinstance(value, list):
        causes += _check_array(schema, value, path)
    elif isinstance(value, dict):
        causes += _check_object(schema, value, path)
    return causes


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _check_type(schema: Schema, value: Any, path: str) -> tuple[str, str] | None:
    actual = _json_type(value)
    if schema.get(INT_OR_STRING):
        if actual in ("integer", "string"):
            return None
        return (path, f"Invalid value: {_show(value)}: {path} in body must be of type "
                f'integer or string: "{actual}"')  # fmt: skip
    want = schema.get("type")
    if not want or want == actual or (want == "number" and actual == "integer"):
        return None
    return (path, f'Invalid value: "{actual}": {path} in body must be of type {want}: "{actual}"')


def _check_enum(schema: Schema, value: Any, path: str) -> Causes:
    allowed = schema.get("enum")
    if allowed is None or any(_equal(value, a) for a in allowed):
        return []
    shown = ", ".join(_show(a) for a in allowed)
    return [(path, f"Unsupported value: {_show(value)}: supported values: {shown}")]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


_NUMBER_KEYS = frozenset({"minimum", "maximum", "multipleOf", "format"})
_STRING_KEYS = frozenset({"minLength", "maxLength", "pattern", "format"})


def _check_number(schema: Schema, value: float, path: str) -> Causes:
    if not _NUMBER_KEYS.intersection(schema):
        return []
    shown = _show(int(value) if float(value).is_integer() else value)
    causes: Causes = []
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None:
        if schema.get("exclusiveMinimum") and value <= low:
            causes.append((path, f"Invalid value: {shown}: {path} in body should be greater "
                           f"than {_show(low)}"))  # fmt: skip
        elif value < low:
            causes.append((path, f"Invalid value: {shown}: {path} in body should be greater "
                           f"than or equal to {_show(low)}"))  # fmt: skip
    if high is not None:
        if schema.get("exclusiveMaximum") and value >= high:
            causes.append((path, f"Invalid value: {shown}: {path} in body should be less "
                           f"than {_show(high)}"))  # fmt: skip
        elif value > high:
            causes.append((path, f"Invalid value: {shown}: {path} in body should be less "
                           f"than or equal to {_show(high)}"))  # fmt: skip
    step = schema.get("multipleOf")
    if step and (value / step) != int(value / step):
        causes.append((path, f"Invalid value: {shown}: {path} in body should be a multiple "
                       f"of {_show(step)}"))  # fmt: skip
    fmt = schema.get("format")
    if fmt == "int32" and not -(2**31) <= value < 2**31:
        causes.append((path, f"Invalid value: {shown}: {path} in body must be of type int32"))
    return causes


def _check_string(schema: Schema, value: str, path: str) -> Causes:
    if schema.get(INT_OR_STRING) and "type" not in schema:
        return []
    if not _STRING_KEYS.intersection(schema):
        return []
    causes: Causes = []
    shown = _show(value)
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and len(value) < low:
        causes.append((path, f"Invalid value: {shown}: {path} in body should be at least "
                       f"{low} chars long"))  # fmt: skip
    if high is not None and len(value) > high:
        causes.append((path, f"Too long: may not be longer than {high}"))
    pattern = schema.get("pattern")
    if pattern is not None and re.search(str(pattern), value) is None:
        causes.append((path, f"Invalid value: {shown}: {path} in body should match "
                       f"'{pattern}'"))  # fmt: skip
    fmt = schema.get("format")
    if fmt and not _format_ok(str(fmt), value):
        causes.append((path, f"Invalid value: {shown}: {path} in body must be of type {fmt}: "
                       f"{shown}"))  # fmt: skip
    return causes


_HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", re.I)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


def _format_ok(fmt: str, value: str) -> bool:
    """The formats Kubernetes checks; others (int32 on a string...) pass."""
    try:
        if fmt == "date-time":
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif fmt == "date":
            datetime.date.fromisoformat(value)
        elif fmt == "uuid":
            uuid.UUID(value)
        elif fmt == "ipv4":
            ipaddress.IPv4Address(value)
        elif fmt == "ipv6":
            ipaddress.IPv6Address(value)
        elif fmt == "cidr":
            ipaddress.ip_network(value, strict=False)
        elif fmt == "byte":
            base64.b64decode(value, validate=True)
        elif fmt == "hostname":
            return len(value) <= 253 and _HOSTNAME.match(value) is not None
        elif fmt == "email":
            return _EMAIL.match(value) is not None
        elif fmt == "duration":
            return _DURATION.match(value) is not None
    except ValueError:
        return False
    return True


def _check_array(schema: Schema, value: list[Any], path: str) -> Causes:
    causes: Causes = []
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None and len(value) < low:
        causes.append((path, f"Invalid value: {len(value)}: {path} in body should have at least "
                       f"{low} items"))  # fmt: skip
    if high is not None and len(value) > high:
        causes.append((path, f"Too many: {len(value)}: must have at most {high} items"))
    if schema.get("uniqueItems"):
        seen = [_show(v) for v in value]
        if len(set(seen)) != len(seen):
            causes.append((path, f"Duplicate value: {path} in body shouldn't contain duplicates"))
    items = schema.get("items")
    for i, item in enumerate(value):
        causes += validate(items, item, f"{path}[{i}]")
    return causes


def _check_object(schema: Schema, value: dict[str, Any], path: str) -> Causes:
    causes: Causes = []
    for name in schema.get("required") or ():
        if name not in value:
            causes.append((_join(path, name), "Required value"))
    low, high = schema.get("minProperties"), schema.get("maxProperties")
    if low is not None and len(value) < low:
        causes.append((path, f"Invalid value: {len(value)}: {path} in body should have at least "
                       f"{low} properties"))  # fmt: skip
    if high is not None and len(value) > high:
        causes.append((path, f"Too many: {len(value)}: must have at most {high} properties"))
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        sub = props.get(key, extra if isinstance(extra, dict) else None)
        causes += validate(sub, item, _join(path, key))
    return causes
