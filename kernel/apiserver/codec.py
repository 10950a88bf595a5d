"""Keys and bytes: how objects sit in the store.

Objects are stored as binary protobuf of their typed message without
``metadata.resourceVersion``: the store revision of the write *is* the
resourceVersion, so it is stamped on when an object is read back.
"""

from __future__ import annotations

from google.protobuf.message import Message
from shoal.kinds import Kind
from shoal.store import KeyValue

ROOT = "/registry/"


def kind_prefix(kind: Kind, namespace: str = "") -> str:
    """The key prefix of every object of a kind, or of one namespace of it."""
    base = f"{ROOT}{kind.plural}{'.' + kind.group if kind.group else ''}/"
    return f"{base}{namespace}/" if namespace and kind.namespaced else base


def object_key(kind: Kind, namespace: str, name: str) -> str:
    return f"{kind_prefix(kind, namespace)}{name}"


def encode(obj: Message, kind: Kind | None = None) -> bytes:
    """The stored bytes of ``obj`` (of ``kind``: converted to the stored
    version when the kind is a view of another, ``Strategy.conversion``)."""
    conversion = kind.strategy.conversion if kind is not None else None
    if conversion is not None:
        obj = conversion.to_storage(obj)
    meta = obj.metadata  # type: ignore[attr-defined]
    version = meta.resource_version
    meta.resource_version = ""
    try:
        return obj.SerializeToString(deterministic=True)
    finally:
        meta.resource_version = version


def decode(kind: Kind, kv: KeyValue) -> Message:
    conversion = kind.strategy.conversion
    if conversion is None:
        obj = kind.message()
        obj.ParseFromString(kv.value)
    else:  # stored as another version: converted for this one's readers
        stored = conversion.storage()
        stored.ParseFromString(kv.value)
        obj = conversion.from_storage(stored)
        obj.kind = kind.kind  # type: ignore[attr-defined]
    if obj.api_version != kind.api_version:  # type: ignore[attr-defined]
        obj.api_version = kind.api_version  # type: ignore[attr-defined]  # another served version
    obj.metadata.resource_version = str(kv.mod_revision)  # type: ignore[attr-defined]
    return obj


def stamped(kind: Kind, kv: KeyValue) -> bytes:
    """The stored bytes with ``metadata.resourceVersion`` set, without
    decoding the object: the encoded metadata field is rewritten in place
    with the version added to it. Appending a second ``metadata`` would be
    valid protobuf too, but decoders that keep only the last occurrence of a
    message field (protobufjs) would then lose the name, labels and uid.
    A kind stored as another version is decoded and converted instead."""
    if kind.strategy.conversion is not None:
        return decode(kind, kv).SerializeToString(deterministic=True)
    field = _metadata_field(kind.message)
    version = _length_delimited(_RESOURCE_VERSION_FIELD, str(kv.mod_revision).encode())
    data = kv.value
    pos = 0
    while pos < len(data):
        start = pos
        tag, pos = _varint(data, pos)
        if tag >> 3 == field and tag & 7 == 2:
            length, body = _varint(data, pos)
            end = body + length
            meta = data[body:end] + version
            return data[:start] + _length_delimited(field, meta) + data[end:]
        pos = _skip(data, pos, tag & 7)
    return data + _length_delimited(field, version)


_METADATA_FIELDS: dict[str, int] = {}


def _metadata_field(message: type[Message]) -> int:
    """The field number of ``metadata`` in a kind's message (3 for every
    built-in kind, but a plugin's kind may differ)."""
    name = message.DESCRIPTOR.full_name
    if name not in _METADATA_FIELDS:
        _METADATA_FIELDS[name] = int(message.DESCRIPTOR.fields_by_name["metadata"].number)
    return _METADATA_FIELDS[name]


# ObjectMeta.resource_version (proto/shoal/api/v1/meta.proto).
_RESOURCE_VERSION_FIELD = 5


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _encode_varint(field << 3 | 2) + _encode_varint(len(payload)) + payload


def _skip(data: bytes, pos: int, wire_type: int) -> int:
    """The position after a field's value (the stored bytes are our own,
    written by ``encode``: only the four wire types protobuf 3 emits)."""
    if wire_type == 0:
        return _varint(data, pos)[1]
    if wire_type == 1:
        return pos + 8
    if wire_type == 2:
        length, pos = _varint(data, pos)
        return pos + length
    if wire_type == 5:
        return pos + 4
    raise ValueError(f"unexpected wire type {wire_type} in a stored object")
