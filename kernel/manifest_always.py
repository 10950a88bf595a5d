"""Fields Kubernetes' JSON writes even when they hold their zero value.

protobuf's JSON mapping leaves out every default; Kubernetes' leaves out only
what its Go types tag `omitempty`. proto/shoal/api/v1/options.proto marks the
others `(shoal.v1.always)` and says how each zero is written. This module
reads those marks once per message type and applies them:

- ``finish`` completes a MessageToDict body: zeros of marked fields, and the
  numbers MessageToDict writes its own way (64-bit integers as strings,
  IntOrString numbers as floats) back to JSON numbers. It runs on every
  object the gateway answers with, so each message type's plan is computed
  once and cached.
- ``canonicalize`` undoes the zeros on the way in: a marked message that
  is empty, an IntOrString 0 and a quantity "0" read as unset, so an object
  read, patched and written back serializes to the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from shoal.api.v1 import options_pb2
from shoal.manifest_schema import QUANTITY_FIELDS

__all__ = ["always_fields", "canonicalize", "finish", "is_always", "is_nullable"]

_VALUE = "google.protobuf.Value"
_TIMESTAMP = "google.protobuf.Timestamp"
_INT64 = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_FIXED64,
    }
)

# How `finish` treats a key it finds in a body.
_TO_INT, _VALUE_NUMBER, _MESSAGE, _MAP = range(4)


def is_always(field: FieldDescriptor) -> bool:
    """Whether Kubernetes' JSON writes this field even when it is zero."""
    return bool(field.GetOptions().Extensions[options_pb2.always])


def is_nullable(field: FieldDescriptor) -> bool:
    """Whether an unset `always` message field is written null, not {}."""
    return bool(field.GetOptions().Extensions[options_pb2.nullable])


def always_fields(desc: Descriptor) -> list[FieldDescriptor]:
    """The fields of a message marked `always`, in declaration order."""
    return [f for f in desc.fields if is_always(f)]


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _is_ours(field: FieldDescriptor) -> bool:
    """A message field of shoal's own types (not a well-known type or a map)."""
    return (
        field.message_type is not None
        and not _is_map(field)
        and not field.message_type.full_name.startswith("google.protobuf.")
    )


def _zero_maker(field: FieldDescriptor) -> Callable[[], Any]:
    """What to write for an unset `always` field (options.proto says why)."""
    if _is_map(field):
        return dict
    if field.is_repeated:
        return list
    if field.message_type is not None:
        name = field.message_type.full_name
        if name == _VALUE:
            return lambda: 0
        if name == _TIMESTAMP or is_nullable(field):
            return lambda: None
        return dict  # then filled with its own zeros by the walk
    if field.has_presence:  # an `optional` scalar: a Go pointer
        return lambda: None
    if field.full_name in QUANTITY_FIELDS:
        return lambda: "0"
    zero = field.default_value
    return lambda: zero


@dataclass(frozen=True)
class _Plan:
    # json name -> (how, the field, the child message's descriptor or None)
    keys: dict[str, tuple[int, FieldDescriptor, Descriptor | None]]
    zeros: tuple[tuple[str, Callable[[], Any]], ...]


@cache
def _plan(desc: Descriptor) -> _Plan:
    keys: dict[str, tuple[int, FieldDescriptor, Descriptor | None]] = {}
    for f in desc.fields:
        if _is_map(f):
            value_field = f.message_type.fields_by_name["value"]
            if value_field.type in _INT64 or _is_ours(value_field):
                keys[f.json_name] = (_MAP, value_field, value_field.message_type)
        elif _is_ours(f):
            keys[f.json_name] = (_MESSAGE, f, f.message_type)
        elif f.message_type is not None and f.message_type.full_name == _VALUE:
            keys[f.json_name] = (_VALUE_NUMBER, f, None)
        elif f.type in _INT64:
            keys[f.json_name] = (_TO_INT, f, None)
    zeros = tuple((f.json_name, _zero_maker(f)) for f in always_fields(desc))
    return _Plan(keys, zeros)


def finish(body: dict[str, Any], desc: Descriptor) -> None:
    """Complete, in place, MessageToDict's body of a `desc` message into
    Kubernetes JSON."""
    plan = _plan(desc)
    for name, make in plan.zeros:
        if name not in body:
            body[name] = make()
    for name, value in body.items():
        entry = plan.keys.get(name)
        if entry is None or value is None:
            continue
        how, field, child = entry
        if how == _MESSAGE:
            assert child is not None
            if field.is_repeated:
                for item in value:
                    finish(item, child)
            else:
                finish(value, child)
        elif how == _MAP:
            for key, item in value.items():
                value[key] = _finish_single(field, child, item)
        elif field.is_repeated:
            body[name] = [_finish_single(field, child, item) for item in value]
        else:
            body[name] = _finish_single(field, child, value)


def _finish_single(field: FieldDescriptor, child: Descriptor | None, value: Any) -> Any:
    if child is not None and isinstance(value, dict):
        finish(value, child)
        return value
    if isinstance(value, str) and field.type in _INT64:
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # an IntOrString number
    return value


# -- reading: the zeros back to unset -------------------------------------

_CLEAR_EMPTY, _CLEAR_VALUE_ZERO, _CLEAR_QUANTITY_ZERO, _DESCEND = range(4)


@cache
def _read_plan(desc: Descriptor) -> tuple[tuple[FieldDescriptor, int], ...]:
    """The fields `canonicalize` must look at: marked fields whose zero
    would otherwise read as set, and message fields with such fields below."""
    steps = []
    for f in desc.fields:
        if is_always(f) and not f.is_repeated:
            if f.message_type is not None and f.message_type.full_name == _VALUE:
                steps.append((f, _CLEAR_VALUE_ZERO))
                continue
            if f.full_name in QUANTITY_FIELDS:
                steps.append((f, _CLEAR_QUANTITY_ZERO))
                continue
            if _is_ours(f) and not is_nullable(f):
                steps.append((f, _CLEAR_EMPTY))
                continue
        if _is_ours(f) and _needs_reading(f.message_type):
            steps.append((f, _DESCEND))
    return tuple(steps)


@cache
def _needs_reading(desc: Descriptor) -> bool:
    return bool(_read_plan(desc))


def canonicalize(msg: Message) -> None:
    """Clear, in place, what `finish` writes for unset fields: a marked
    (non-pointer) message that holds nothing, an IntOrString 0 or "", a
    quantity "0". Kubernetes cannot tell these from unset either."""
    for field, step in _read_plan(msg.DESCRIPTOR):
        name = field.name
        if step == _CLEAR_QUANTITY_ZERO:
            if getattr(msg, name) == "0":
                msg.ClearField(name)
            continue
        if field.is_repeated:
            for item in getattr(msg, name):
                canonicalize(item)
            continue
        if not msg.HasField(name):
            continue
        sub = getattr(msg, name)
        if step == _CLEAR_VALUE_ZERO:
            kind = sub.WhichOneof("kind")
            if kind is None or kind == "null_value" or not getattr(sub, kind):
                msg.ClearField(name)
            continue
        canonicalize(sub)
        if step == _CLEAR_EMPTY and sub.ByteSize() == 0:
            msg.ClearField(name)
