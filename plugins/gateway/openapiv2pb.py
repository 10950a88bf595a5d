"""An OpenAPI v2 document in protobuf, the only form kubectl reads it in.

client-go fetches ``/openapi/v2`` with ``Accept:
application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` and unmarshals
the body as gnostic's ``openapi.v2.Document`` without looking at the content
type, so JSON will not do. This encodes the subset of that message the
gateway's document uses (swagger, info, paths, definitions and their
schemas), with the field numbers of gnostic-models' ``OpenAPIv2.proto``.
Vendor extensions (``x-kubernetes-...``) travel as YAML text, as gnostic
writes them; JSON is YAML.
"""

from __future__ import annotations

import json
from typing import Any

CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_VARINT = 0
_BYTES = 2

# Document
_DOC_SWAGGER, _DOC_INFO, _DOC_PATHS, _DOC_DEFINITIONS = 1, 2, 8, 9
# Info
_INFO_TITLE, _INFO_VERSION = 1, 2
# Definitions / Properties: repeated NamedSchema additional_properties = 1
_NAMED = 1
# NamedSchema, NamedAny: name = 1, value = 2
_NAME, _VALUE = 1, 2
# Any: yaml = 2
_ANY_YAML = 2
# AdditionalPropertiesItem: schema = 1, boolean = 2
_ADDITIONAL_SCHEMA, _ADDITIONAL_BOOLEAN = 1, 2
# TypeItem, ItemsItem: repeated value/schema = 1
_REPEATED = 1
# Schema
_SCHEMA_STRINGS = {"$ref": 1, "format": 2, "title": 3, "description": 4, "pattern": 13}
_SCHEMA_REQUIRED = 19
_SCHEMA_ENUM = 20
_SCHEMA_ADDITIONAL = 21
_SCHEMA_TYPE = 22
_SCHEMA_ITEMS = 23
_SCHEMA_PROPERTIES = 25
_SCHEMA_EXTENSION = 31


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _bytes_field(number: int, data: bytes) -> bytes:
    return _tag(number, _BYTES) + _varint(len(data)) + data


def _string(number: int, text: str) -> bytes:
    return _bytes_field(number, text.encode())


def _bool(number: int, value: bool) -> bytes:
    return _tag(number, _VARINT) + _varint(int(value))


def _any(value: Any) -> bytes:
    return _string(_ANY_YAML, json.dumps(value) + "\n")


def _named(name: str, value: bytes) -> bytes:
    return _string(_NAME, name) + _bytes_field(_VALUE, value)


def encode_schema(schema: dict[str, Any]) -> bytes:
    """One ``openapi.v2.Schema``; a key this encoder does not know is an error,
    so that nothing is silently left out of what kubectl sees."""
    out = bytearray()
    for key, value in schema.items():
        if key in _SCHEMA_STRINGS:
            out += _string(_SCHEMA_STRINGS[key], value)
        elif key == "type":
            out += _bytes_field(_SCHEMA_TYPE, _string(_REPEATED, value))
        elif key == "required":
            out += b"".join(_string(_SCHEMA_REQUIRED, name) for name in value)
        elif key == "enum":
            out += b"".join(_bytes_field(_SCHEMA_ENUM, _any(item)) for item in value)
        elif key == "items":
            out += _bytes_field(_SCHEMA_ITEMS, _bytes_field(_REPEATED, encode_schema(value)))
        elif key == "additionalProperties":
            item = (
                _bool(_ADDITIONAL_BOOLEAN, value)
                if isinstance(value, bool)
                else _bytes_field(_ADDITIONAL_SCHEMA, encode_schema(value))
            )
            out += _bytes_field(_SCHEMA_ADDITIONAL, item)
        elif key == "properties":
            out += _bytes_field(_SCHEMA_PROPERTIES, _named_schemas(value))
        elif key.startswith("x-"):
            out += _bytes_field(_SCHEMA_EXTENSION, _named(key, _any(value)))
        else:
            raise ValueError(f"openapi v2 protobuf: schema key {key!r} is not encoded")
    return bytes(out)


def _named_schemas(schemas: dict[str, dict[str, Any]]) -> bytes:
    return b"".join(
        _bytes_field(_NAMED, _named(name, encode_schema(schema)))
        for name, schema in schemas.items()
    )


def encode_document(document: dict[str, Any]) -> bytes:
    """A v2 document of swagger, info and definitions (its paths must be
    empty: the gateway lists operations in v3 only)."""
    if document.get("paths"):
        raise ValueError("openapi v2 protobuf: paths are not encoded")
    info = document["info"]
    return b"".join(
        (
            _string(_DOC_SWAGGER, document["swagger"]),
            _bytes_field(
                _DOC_INFO,
                _string(_INFO_TITLE, info["title"]) + _string(_INFO_VERSION, info["version"]),
            ),
            _bytes_field(_DOC_PATHS, b""),
            _bytes_field(_DOC_DEFINITIONS, _named_schemas(document["definitions"])),
        )
    )
