"""OpenAPI schemas of shoal's messages, named and shaped as Kubernetes
publishes them (``io.k8s.api.core.v1.Pod``), for ``kubectl explain``.

Every message reachable from a kind becomes one named schema with its
fields as properties under their JSON names; descriptions are the comments
of proto/ (:mod:`protodocs`). The well-known types become Kubernetes' own
types: ``google.protobuf.Timestamp`` is ``meta.v1.Time`` (a date-time
string), ``google.protobuf.Value`` (how the protos spell IntOrString) is
``intstr.IntOrString``, and the string fields holding quantities are
``resource.Quantity``. OpenAPI v3 (``#/components/schemas/``) and v2
(``#/definitions/``) differ only in how a described reference is written.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from shoal import kinds
from shoal.api.v1 import meta_pb2
from shoal.kinds import Kind
from shoal.manifest_schema import QUANTITY_FIELDS
from shoal.plugins.gateway import protodocs
from shoal.plugins.gateway.schemafacts import (
    FIELD_DEFAULTS,
    QUANTITY,
    REQUIRED,
    WELL_KNOWN,
    well_known_schema,
)

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
# shoal's meta.proto holds two messages that are core/v1 in Kubernetes
CORE_IN_META = {"ObjectReference", "LocalObjectReference"}
META_FILE = "shoal/api/v1/meta.proto"

V3 = "#/components/schemas/"
V2 = "#/definitions/"

_INT64 = {"type": "integer", "format": "int64"}
_INT32 = {"type": "integer", "format": "int32"}
_SCALARS: dict[int, dict[str, str]] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _INT64,
    FieldDescriptor.TYPE_FIXED64: _INT64,
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _INT32,
    FieldDescriptor.TYPE_FIXED32: _INT32,
}  # copied on use: schemas get descriptions added


def gvk(kind: Kind) -> dict[str, str]:
    return {"group": kind.group, "kind": kind.kind, "version": kind.version}


def _group_prefix(kind: Kind) -> str:
    """``io.k8s.api.apps.v1``: the group's first label, as Kubernetes' Go packages."""
    group = kind.group.split(".")[0] or "core"
    return f"io.k8s.api.{group}.{kind.version}"


def _file_prefixes() -> dict[str, str]:
    """proto file -> the Kubernetes package its messages are named in."""
    prefixes = {META_FILE: META}
    for kind in kinds.all_kinds():
        prefixes.setdefault(kind.message.DESCRIPTOR.file.name, _group_prefix(kind))
    return prefixes


class Builder:
    """Builds the named schemas reachable from some kinds, in one flavour
    (the reference prefix: :data:`V3` or :data:`V2`)."""

    def __init__(self, ref_prefix: str) -> None:
        self.ref_prefix = ref_prefix
        self.prefixes = _file_prefixes()
        self.docs = protodocs.comments()
        self.kinds = {k.full_name: k for k in kinds.all_kinds()}
        self.schemas: dict[str, dict[str, Any]] = {}

    def name(self, message: Descriptor) -> str:
        """The Kubernetes name of a message's schema."""
        if message.full_name in WELL_KNOWN:
            return WELL_KNOWN[message.full_name]
        local = message.full_name.removeprefix(f"{message.file.package}.")
        if message.file.name == META_FILE and local in CORE_IN_META:
            return f"io.k8s.api.core.v1.{local}"
        prefix = self.prefixes.get(message.file.name, message.file.package)
        return f"{prefix}.{local}"

    def add_kinds(self, selected: Iterable[Kind]) -> dict[str, dict[str, Any]]:
        for kind in selected:
            if kind.strategy.openapi_schema is not None:
                self._add_given(kind, kind.strategy.openapi_schema)
            else:
                self._add(kind.message.DESCRIPTOR)
        return self.schemas

    def _add_given(self, kind: Kind, given: dict[str, Any]) -> None:
        """A kind whose strategy gives its schema (a custom resource's),
        named as Kubernetes names it: ``com.example.stable.v1.CronTab``."""
        schema = copy.deepcopy(given) if self.ref_prefix == V3 else _v2_subset(given)
        schema.setdefault("type", "object")
        properties = schema.setdefault("properties", {})
        properties["apiVersion"] = {"type": "string", "description": FIELD_DEFAULTS.get(
            "apiVersion", "APIVersion defines the versioned schema of this object.")}  # fmt: skip
        properties["kind"] = {"type": "string", "description": FIELD_DEFAULTS.get(
            "kind", "Kind is a string value representing the REST resource.")}  # fmt: skip
        properties["metadata"] = {"$ref": self.ref(meta_pb2.ObjectMeta.DESCRIPTOR)}
        schema["x-kubernetes-group-version-kind"] = [gvk(kind)]
        group = ".".join(reversed(kind.group.split(".")))
        self.schemas[f"{group}.{kind.version}.{kind.kind}"] = schema

    def ref(self, message: Descriptor) -> str:
        self._add(message)
        return self.ref_prefix + self.name(message)

    def _add(self, message: Descriptor) -> None:
        name = self.name(message)
        if name in self.schemas:
            return
        if message.full_name in WELL_KNOWN:
            self.schemas[name] = well_known_schema(name, v3=self.ref_prefix == V3)
            return
        self.schemas[name] = {}  # taken before the fields, for recursive messages
        self.schemas[name] = self._message(message)

    def _message(self, message: Descriptor) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object"}
        if message.full_name in self.docs:
            schema["description"] = self.docs[message.full_name]
        kind = self.kinds.get(message.full_name)
        properties = {f.json_name: self._field(f, kind) for f in message.fields}
        schema["properties"] = properties
        required = [r for r in REQUIRED.get(message.full_name, ()) if r in properties]
        if required:
            schema["required"] = required
        if kind is not None:
            schema["x-kubernetes-group-version-kind"] = [gvk(kind)]
        return schema

    def _field(self, field: FieldDescriptor, kind: Kind | None) -> dict[str, Any]:
        description = self.docs.get(field.full_name, "")
        if not description and kind is not None:
            default = FIELD_DEFAULTS.get(field.json_name, "")
            description = default.replace("{kind}", kind.kind)
        value_type = _map_value(field)
        schema: dict[str, Any]
        if value_type is not None:
            schema = {"type": "object", "additionalProperties": self._single(value_type)}
        elif field.is_repeated:
            schema = {"type": "array", "items": self._single(field)}
        else:
            schema = self._single(field)
            if "$ref" in schema and description:
                return self._described_ref(schema["$ref"], description)
        if description:
            schema["description"] = description
        return schema

    def _described_ref(self, ref: str, description: str) -> dict[str, Any]:
        """OpenAPI v3 ignores siblings of ``$ref``, so Kubernetes wraps it in
        ``allOf`` there; v2 keeps the description beside the ``$ref``."""
        if self.ref_prefix == V3:
            return {"allOf": [{"$ref": ref}], "description": description}
        return {"$ref": ref, "description": description}

    def _single(self, field: FieldDescriptor) -> dict[str, Any]:
        """The schema of one value of ``field`` (an item of a list or map)."""
        if field.full_name in QUANTITY_FIELDS or _map_of_quantities(field):
            return {"$ref": self.ref_prefix + self._quantity()}
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            return {"$ref": self.ref(field.message_type)}
        if field.type == FieldDescriptor.TYPE_ENUM:
            return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
        return dict(_SCALARS[field.type])

    def _quantity(self) -> str:
        if QUANTITY not in self.schemas:
            self.schemas[QUANTITY] = well_known_schema(QUANTITY, v3=self.ref_prefix == V3)
        return QUANTITY


def _map_value(field: FieldDescriptor) -> FieldDescriptor | None:
    """The value field of a map field's entry, None for any other field."""
    entry = field.message_type
    if field.type != FieldDescriptor.TYPE_MESSAGE or not entry.GetOptions().map_entry:
        return None
    return entry.fields_by_name["value"]


def _map_of_quantities(value: FieldDescriptor) -> bool:
    """The value field of a map entry whose map holds quantities."""
    entry = value.containing_type
    if entry is None or not entry.GetOptions().map_entry:
        return False
    owner = entry.containing_type
    return any(f.message_type is entry and f.full_name in QUANTITY_FIELDS for f in owner.fields)


# OpenAPI v2 (and its protobuf form) carries type, format, description,
# title, required, enum, items, additionalProperties, properties and x-...;
# the other keys go, as Kubernetes drops them from a CRD's v2 schema.
def _v2_subset(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in ("required", "enum", "type", "format",
                                             "description", "title"):  # fmt: skip
            out[key] = copy.deepcopy(value)
        elif key == "properties":
            out[key] = {name: _v2_subset(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = value if isinstance(value, bool) else _v2_subset(value)
    return out
