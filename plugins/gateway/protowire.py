"""A small protobuf wire decoder driven by the schema in ``k8sproto``: enough
to read the bodies kubectl's typed clients send as
``application/vnd.kubernetes.protobuf`` and turn them into the Kubernetes
JSON dict the gateway handles for every other body.

Kubernetes' Go types encode every non-pointer field even at its zero value,
while their JSON leaves such fields out (``omitempty``); so zero scalars are
dropped unless the schema marks the field as a pointer, whose zero (``replicas:
0``) means something."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from shoal.plugins.gateway.k8sproto import MESSAGES, OBJECTS, Field

MAGIC = b"k8s\x00"
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
SCALAR_WIRE = {"string": LENGTH, "bytes": LENGTH, "int": VARINT, "bool": VARINT}


class ProtoError(ValueError):
    """The body is not the protobuf a Kubernetes client sends."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtoError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtoError("varint longer than 10 bytes")


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field on the wire, in order."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoError("field number 0")
        value: int | bytes
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire in (FIXED64, FIXED32):
            width = 8 if wire == FIXED64 else 4
            value, pos = data[pos : pos + width], pos + width
            if len(value) != width:
                raise ProtoError("truncated fixed-width field")
        elif wire == LENGTH:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
            if len(value) != size:
                raise ProtoError(f"truncated field {number}")
        else:
            raise ProtoError(f"unsupported wire type {wire} (field {number})")
        yield number, wire, value


def decode_object(body: bytes) -> dict[str, Any]:
    """The Kubernetes JSON of an enveloped object: magic, then runtime.Unknown
    {typeMeta{apiVersion, kind}, raw, contentEncoding, contentType}."""
    if not body.startswith(MAGIC):
        raise ProtoError("the body does not start with the Kubernetes protobuf magic k8s\\0")
    envelope = {number: value for number, _, value in fields(body[len(MAGIC) :])}
    if set(envelope) - {1, 2, 3, 4}:
        raise ProtoError(f"unknown field {max(envelope)} in message Unknown")
    if envelope.get(3):
        raise ProtoError(f"unsupported contentEncoding {envelope[3]!r}")
    meta = decode(_bytes(envelope.get(1, b"")), "TypeMeta")
    api_version, kind = meta.get("apiVersion", ""), meta.get("kind", "")
    if kind not in OBJECTS:
        raise UnsupportedKind(kind or "(no kind)")
    return {"apiVersion": api_version, "kind": kind, **decode(_bytes(envelope.get(2, b"")), kind)}


class UnsupportedKind(ProtoError):
    """A kind whose protobuf the gateway has no schema for."""


def decode(data: bytes, message: str) -> dict[str, Any]:
    """One message as its Kubernetes JSON dict; an unknown field is an error."""
    schema = MESSAGES[message]
    out: dict[str, Any] = {}
    for number, wire, value in fields(data):
        field = schema.get(number)
        if field is None:
            raise ProtoError(f"unknown field {number} in message {message}")
        if _wire(field) != wire:
            raise ProtoError(f"field {number} ({field.name}) of {message} has wire type {wire}")
        _store(out, field, value, message)
    kept = {f.name for f in schema.values() if f.pointer or f.kind in MESSAGES}
    return {k: v for k, v in out.items() if v is not None and (k in kept or not _zero(v))}


def _zero(value: Any) -> bool:
    return isinstance(value, (str, int)) and not value


def _wire(field: Field) -> int:
    if field.map or field.kind in MESSAGES:
        return LENGTH
    return SCALAR_WIRE[field.kind]


def _store(out: dict[str, Any], field: Field, value: int | bytes, message: str) -> None:
    if field.map:
        entry = decode(_bytes(value), field.kind)
        out.setdefault(field.name, {})[entry.get("key", "")] = entry.get("value", "")
    elif field.repeated:
        out.setdefault(field.name, []).append(_scalar(field, value))
    else:
        out[field.name] = _scalar(field, value)


def _bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise ProtoError(f"expected a length-delimited field, got the number {value}")
    return value


def _scalar(field: Field, value: int | bytes) -> Any:
    if isinstance(value, int):
        if field.kind == "bool":
            return value != 0
        return value - (1 << 64) if value >= 1 << 63 else value  # negative int32/int64
    if field.kind == "string":
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise ProtoError(f"field {field.name} is not valid UTF-8") from None
    if field.kind == "bytes":
        return base64.b64encode(value).decode()
    return SPECIAL.get(field.kind, _plain)(value, field.kind)


def _plain(value: bytes, message: str) -> Any:
    return decode(value, message)


def _time(value: bytes, message: str) -> str | None:
    parts = decode(value, message)
    if not parts:
        return None  # Go's zero time: JSON null, "not set"
    seconds = parts.get("seconds", 0)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(value: bytes, message: str) -> int | str:
    parts = decode(value, message)
    return parts.get("strVal", "") if parts.get("type") == 1 else parts.get("intVal", 0)


def _quantity(value: bytes, message: str) -> str:
    return str(decode(value, message).get("string", ""))


SPECIAL = {"Time": _time, "IntOrString": _int_or_string, "Quantity": _quantity}
