"""Checking a Kubernetes JSON document against a message descriptor.

json_format.ParseDict reports the first problem as a protobuf parse error and
accepts some things Kubernetes does not ("3" for an integer). This walk runs
first and reports in kubectl's words, with the field path:

    unknown field "spec.contaners" in Pod
    spec.replicas: expected integer, got string "three"

It also coerces what Kubernetes accepts and ParseDict does not: plain numbers
as resource quantities (cpu: 1), non-string map keys, null map values.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

# Fields holding resource quantities ("500m", "1Gi"), where Kubernetes also
# takes a JSON number (and YAML writes `cpu: 1`).
QUANTITY_FIELDS = frozenset(
    {
        "shoal.v1.ResourceRequirements.limits",
        "shoal.v1.ResourceRequirements.requests",
        "shoal.v1.NodeStatus.capacity",
        "shoal.v1.NodeStatus.allocatable",
        "shoal.v1.EmptyDirVolumeSource.size_limit",
        "shoal.v1.ResourceFieldSelector.divisor",
        "shoal.v1.PersistentVolumeSpec.capacity",
        "shoal.v1.PersistentVolumeClaimStatus.capacity",
        "shoal.v1.PersistentVolumeClaimStatus.allocated_resources",
    }
)

_INT_TYPES = {
    FieldDescriptor.TYPE_INT32: (32, True),
    FieldDescriptor.TYPE_SINT32: (32, True),
    FieldDescriptor.TYPE_SFIXED32: (32, True),
    FieldDescriptor.TYPE_UINT32: (32, False),
    FieldDescriptor.TYPE_FIXED32: (32, False),
    FieldDescriptor.TYPE_INT64: (64, True),
    FieldDescriptor.TYPE_SINT64: (64, True),
    FieldDescriptor.TYPE_SFIXED64: (64, True),
    FieldDescriptor.TYPE_UINT64: (64, False),
    FieldDescriptor.TYPE_FIXED64: (64, False),
}


class ManifestError(ValueError):
    """A manifest that cannot be read; `path` names the field ("spec.replicas"),
    empty when the problem is not in one field."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


def describe(value: Any) -> str:
    """A value as an error message shows it: `string "three"`, `integer 3`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"string {json.dumps(text)}"
    if isinstance(value, dict):
        return "object"
    return "list" if isinstance(value, list) else type(value).__name__


def _fields(desc: Descriptor) -> dict[str, FieldDescriptor]:
    # ParseDict takes both the JSON name and the proto name.
    names = {f.json_name: f for f in desc.fields}
    names.update((f.name, f) for f in desc.fields)
    return names


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _mismatch(path: str, want: str, value: Any) -> ManifestError:
    return ManifestError(f"{path}: expected {want}, got {describe(value)}", path)


def check_object(data: Any, desc: Descriptor, kind: str, path: str = "") -> dict[str, Any]:
    """A copy of `data` fit for ParseDict into a `desc` message, or a
    ManifestError naming the first bad field; `kind` names the top-level kind."""
    if not isinstance(data, dict):
        raise _mismatch(path or "object", "object", data)
    fields, out = _fields(desc), {}
    for key, value in data.items():
        sub = _join(path, str(key))
        field = fields.get(key) if isinstance(key, str) else None
        if field is None:
            raise ManifestError(f'unknown field "{sub}" in {kind}', sub)
        out[key] = None if value is None else _check_field(field, value, kind, sub)
    return out


def _check_field(field: FieldDescriptor, value: Any, kind: str, path: str) -> Any:
    if _is_map(field):
        return _check_map(field, value, kind, path)
    if field.is_repeated:
        if not isinstance(value, list):
            raise _mismatch(path, "list", value)
        items = []
        for i, item in enumerate(value):
            if item is None:
                raise ManifestError(f"{path}[{i}]: null is not allowed in a list", f"{path}[{i}]")
            items.append(_check_single(field, item, kind, f"{path}[{i}]"))
        return items
    return _check_single(field, value, kind, path)


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _check_map(field: FieldDescriptor, value: Any, kind: str, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _mismatch(path, "object", value)
    value_field = field.message_type.fields_by_name["value"]
    quantity = field.full_name in QUANTITY_FIELDS
    out = {}
    for key, item in value.items():
        sub = _join(path, str(key))
        if item is None and value_field.message_type is None:
            item = (
                False
                if value_field.type == FieldDescriptor.TYPE_BOOL
                else (
                    ""
                    if value_field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)
                    else 0
                )
            )
        elif quantity:
            item = _quantity(item, sub)
        # YAML may give non-string keys (`1: x`); Kubernetes makes them strings.
        out[str(key).lower() if isinstance(key, bool) else str(key)] = _check_single(
            value_field, item, kind, sub
        )
    return out


def _check_single(field: FieldDescriptor, value: Any, kind: str, path: str) -> Any:
    if field.message_type is not None:
        name = field.message_type.full_name
        if name == "google.protobuf.Value":  # IntOrString
            return _int_or_string(value, path)
        if name == "google.protobuf.Timestamp":
            return _timestamp(value, path)
        if name.startswith("google.protobuf."):
            return value  # other well-known types: ParseDict knows them best
        return check_object(value, field.message_type, kind, path)
    if field.full_name in QUANTITY_FIELDS:
        value = _quantity(value, path)
    return _check_scalar(field, value, path)


def _check_scalar(field: FieldDescriptor, value: Any, path: str) -> Any:
    if field.type == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            raise _mismatch(path, "string", value)
    elif field.type == FieldDescriptor.TYPE_BYTES:
        _base64(value, path)
    elif field.type == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise _mismatch(path, "boolean", value)
    elif field.type in _INT_TYPES:
        return _integer(value, *_INT_TYPES[field.type], path)
    elif field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT) and (
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        raise _mismatch(path, "number", value)
    return value


def _integer(value: Any, bits: int, signed: bool, path: str) -> int:
    whole = isinstance(value, float) and value.is_integer()
    # protobuf's JSON writes 64-bit integers as strings; take those back.
    if whole or (bits == 64 and isinstance(value, str) and value.lstrip("-").isdigit()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _mismatch(path, "integer", value)
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if not low <= value <= high:
        raise ManifestError(f"{path}: {value} is out of range for a {bits}-bit integer", path)
    return value


def _quantity(value: Any, path: str) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return value


def _int_or_string(value: Any, path: str) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _mismatch(path, "integer or string", value)
    return value


def _timestamp(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _mismatch(path, "timestamp string", value)
    try:
        Timestamp().FromJsonString(value)
    except ValueError:
        raise ManifestError(
            f'{path}: invalid timestamp "{value}", want RFC 3339 like "2024-05-01T12:00:00Z"', path
        ) from None
    return value


def _base64(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise _mismatch(path, "base64 string", value)
    padded = value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4)
    try:
        base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise ManifestError(f"{path}: illegal base64 data", path) from None
