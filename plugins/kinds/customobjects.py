"""Custom objects: the generic ``shoal.v1.CustomObject`` message, its
Kubernetes JSON, and the strategy a CustomResourceDefinition's version
gives its kind (schema validation, defaulting, pruning, subresources,
printer columns).

A custom object's JSON is ``{apiVersion, kind, metadata, ...content,
status}``; ``content`` and ``status`` are ``google.protobuf.Struct``, whose
numbers are doubles: integers keep their exact value up to 2**53.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from shoal import clock, errors
from shoal.api.v1 import apiextensions_pb2, meta_pb2
from shoal.kinds import GenericMessage, Kind
from shoal.manifest_always import canonicalize, finish
from shoal.manifest_schema import ManifestError, check_object, describe
from shoal.plugins.kinds import crdschema
from shoal.strategy import Causes, ScaleSubresource, Strategy, Table

Obj = dict[str, Any]
_TOP = ("apiVersion", "kind", "metadata")


def _numbers(value: Any) -> Any:
    """Struct's doubles back to JSON integers where they are whole."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _value(value: Any) -> Any:
    """One google.protobuf.Value as JSON: a walk of the message, several
    times faster than json_format's (this runs on every custom object write)."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**63 else number
    if kind == "struct_value":
        return {k: _value(v) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_value(v) for v in value.list_value.values]
    if kind == "bool_value":
        return value.bool_value
    return None


def struct_dict(struct: Any) -> Obj:
    """A google.protobuf.Struct as JSON, whole numbers as integers."""
    return {k: _value(v) for k, v in struct.fields.items()}


def body(obj: Any) -> Obj:
    """Everything but apiVersion, kind and metadata, as JSON."""
    out = struct_dict(obj.content)
    if obj.HasField("status"):
        out["status"] = struct_dict(obj.status)
    return out


def set_body(obj: Any, data: Obj) -> None:
    rest = {k: v for k, v in data.items() if k not in _TOP and k != "status"}
    obj.content.Clear()
    obj.content.update(rest)
    obj.ClearField("status")
    if isinstance(data.get("status"), dict):
        obj.status.update(data["status"])


def to_dict(msg: Message) -> Obj:
    obj: Any = msg
    metadata = json_format.MessageToDict(obj.metadata)
    finish(metadata, obj.metadata.DESCRIPTOR)
    return {"apiVersion": obj.api_version, "kind": obj.kind, "metadata": metadata, **body(obj)}


def from_dict(kind: Kind, data: Obj) -> Message:
    obj: Any = apiextensions_pb2.CustomObject(api_version=kind.api_version, kind=kind.kind)
    metadata = data.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise ManifestError(f"metadata: expected object, got {describe(metadata)}", "metadata")
        checked = check_object(metadata, meta_pb2.ObjectMeta.DESCRIPTOR, "metadata")
        try:
            json_format.ParseDict(checked, obj.metadata)
        except json_format.ParseError as err:
            raise ManifestError(f"invalid metadata: {err}", "metadata") from None
        canonicalize(obj.metadata)
    status = data.get("status")
    if status is not None and not isinstance(status, dict):
        raise ManifestError(f"status: expected object, got {describe(status)}", "status")
    try:
        set_body(obj, data)
    except (ValueError, TypeError) as err:
        raise ManifestError(f"invalid {kind.kind}: {err}") from None
    return obj  # type: ignore[no-any-return]


GENERIC = GenericMessage(apiextensions_pb2.CustomObject, to_dict, from_dict)


def _root(schema: Obj | None) -> Obj | None:
    """The root schema without apiVersion, kind and metadata: the server
    owns those, and checks metadata itself."""
    if not schema:
        return None
    props = {k: v for k, v in (schema.get("properties") or {}).items() if k not in _TOP}
    return {**schema, "properties": props}


class CustomResourceStrategy(Strategy):
    """How the objects of one served version of a CRD are treated."""

    def __init__(self, crd: Obj, version: Obj) -> None:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        self.crd_name = str((crd.get("metadata") or {}).get("name", ""))
        self.categories = tuple(names.get("categories") or ())
        raw = _numbers((version.get("schema") or {}).get("openAPIV3Schema")) or None
        self.schema = _root(raw)
        self.openapi_schema = raw
        subresources = version.get("subresources") or {}
        self.has_status = "status" in subresources
        self.reset_status_on_create = self.has_status
        scale = subresources.get("scale")
        self.scale = (
            ScaleSubresource(
                scale.get("specReplicasPath", ".spec.replicas"),
                scale.get("statusReplicasPath", ".status.replicas"),
                scale.get("labelSelectorPath", ""),
            )
            if scale
            else None
        )
        self.columns = list(version.get("additionalPrinterColumns") or ())
        self.table = printer_table(self.columns) if self.columns else None
        self.signature = (raw, subresources, self.columns, self.categories)

    def default(self, obj: Any) -> None:
        if self.schema is None:
            return
        data = body(obj)
        fixed = crdschema.default(self.schema, crdschema.prune(self.schema, data))
        if fixed != data:
            set_body(obj, fixed)

    def prepare_for_status_update(self, old: Any, new: Any) -> None:
        """Prune and default the written status as the schema says."""
        status_schema = ((self.schema or {}).get("properties") or {}).get("status")
        if not new.HasField("status") or status_schema is None:
            return
        data = struct_dict(new.status)
        fixed = crdschema.default(status_schema, crdschema.prune(status_schema, data))
        if fixed != data:
            new.status.Clear()
            new.status.update(fixed)

    def validate(self, obj: Any) -> Causes:
        if self.schema is None:
            return []
        return crdschema.validate(self.schema, body(obj))

    async def before_create(self, context: Any, obj: Any) -> None:
        terminating = context.extensions.get(TERMINATING, set())
        if self.crd_name in terminating:
            raise errors.ForbiddenError(
                f"create not allowed while custom resource definition {self.crd_name} "
                "is terminating"
            )


# Per-server set of CRD names being deleted (StorageContext.extensions).
TERMINATING = "apiextensions.terminating"


def printer_table(columns: list[Obj]) -> Table:
    """A Table from a version's additionalPrinterColumns: priority 0 columns
    always, the others with ``-o wide``."""
    main = [c for c in columns if not c.get("priority")]
    wide = [c for c in columns if c.get("priority")]

    def cells_of(chosen: list[Obj]) -> Any:
        def cells(obj: Obj, now: float) -> list[str]:
            return [cell(c, obj, now) for c in chosen]

        return cells

    return Table(
        headers=[str(c.get("name", "")).upper() for c in main],
        cells=cells_of(main),
        wide_headers=[str(c.get("name", "")).upper() for c in wide],
        wide_cells=cells_of(wide) if wide else None,
    )


def cell(column: Obj, obj: Obj, now: float | None = None) -> str:
    """One printer column's cell: its JSONPath evaluated, shown by type."""
    from shoal.age import age
    from shoal.jsonpath import JSONPathError, evaluate, parse_path, render_value

    path = str(column.get("jsonPath", ""))
    try:
        found = evaluate(parse_path(path.strip("{}")), obj)
    except (JSONPathError, ValueError, TypeError, KeyError, IndexError):
        return "<invalid>"
    if not found or found[0] is None:
        return "<none>"
    value = found[0]
    if column.get("type") == "date" and isinstance(value, str):
        return age(value, clock.time() if now is None else now)
    return render_value(value)
