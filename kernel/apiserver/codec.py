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


def encode(obj: Message) -> bytes:
    meta = obj.metadata  # type: ignore[attr-defined]
    version = meta.resource_version
    meta.resource_version = ""
    try:
        return obj.SerializeToString(deterministic=True)
    finally:
        meta.resource_version = version


def decode(kind: Kind, kv: KeyValue) -> Message:
    obj = kind.message()
    obj.ParseFromString(kv.value)
    obj.metadata.resource_version = str(kv.mod_revision)  # type: ignore[attr-defined]
    return obj


def stamped(kind: Kind, kv: KeyValue) -> bytes:
    """The stored bytes with resourceVersion set, without decoding: protobuf
    merges concatenated messages, so appending an encoded
    ``metadata.resourceVersion`` sets the field."""
    suffix = kind.message()
    suffix.metadata.resource_version = str(kv.mod_revision)  # type: ignore[attr-defined]
    return kv.value + suffix.SerializeToString()
