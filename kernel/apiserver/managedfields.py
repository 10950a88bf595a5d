"""``metadata.managedFields`` on typed objects: the registry's side of the
field manager (``fieldmanager`` works on Kubernetes JSON dicts). Every write
path of the registry calls one of these once the object is final (defaulted),
so gRPC and REST clients are tracked alike."""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from shoal import errors, kinds
from shoal.apiserver import fieldmanager, fieldpaths, lastapplied, meta
from shoal.apiserver.decoding import decode_json, decode_yaml
from shoal.apiserver.fieldmanager import Entry, Write
from shoal.apiserver.fieldpaths import Path
from shoal.apiserver.manifests import to_json
from shoal.kinds import Kind
from shoal.manifest import to_dict

# ObjectMeta fields (proto names) the server keeps: nobody's
SERVER_FIELDS = (
    "name",
    "namespace",
    "uid",
    "resource_version",
    "generation",
    "creation_timestamp",
    "deletion_timestamp",
    "deletion_grace_period_seconds",
    "managed_fields",
)

# The manager of a write that names none and comes from no known client.
UNKNOWN_MANAGER = "unknown"


def default_manager(user_agent: str) -> str:
    """Kubernetes' default field manager: the client's user agent up to its
    first "/" (``kubectl/v1.32.0 (linux/amd64)`` -> ``kubectl``)."""
    name = user_agent.split("/", 1)[0].strip()
    return name[: fieldmanager.MAX_MANAGER_LENGTH] or UNKNOWN_MANAGER


@functools.lru_cache(maxsize=256)
def _time_text(seconds: int, nanos: int) -> str:
    """A managedFields time as JSON. Times repeat (whole seconds, every
    write of a second alike) and protobuf converts them in Python, with
    ``strptime`` one way: ~5% of a create's time before these caches."""
    return Timestamp(seconds=seconds, nanos=nanos).ToJsonString()


@functools.lru_cache(maxsize=256)
def _parse_time(text: str) -> tuple[int, int]:
    """(seconds, nanos) of a JSON time; ValueError (not cached) if it is none."""
    stamp = Timestamp()
    stamp.FromJsonString(text)
    return stamp.seconds, stamp.nanos


def write_of(kind: Kind, manager: str, subresource: str = "") -> Write:
    return Write(
        manager=manager or UNKNOWN_MANAGER,
        api_version=kind.api_version,
        time=_time_text(meta.now().seconds, 0),
        subresource=subresource,
        has_status=kind.has_status,
    )


def entries_of(obj: Any) -> list[Entry]:
    """The managers of a typed object (its FieldsV1 read without a detour
    through JSON: this runs on every write)."""
    entries = []
    for e in obj.metadata.managed_fields:
        fields = _paths_of(e.fields_v1.SerializeToString(deterministic=True))
        entries.append(
            Entry(
                manager=e.manager,
                operation=e.operation,
                api_version=e.api_version,
                time=_time_text(e.time.seconds, e.time.nanos) if e.HasField("time") else "",
                subresource=e.subresource,
                fields=set(fields),
                source=e,
                read_fields=fields,
            )
        )
    return entries


@functools.lru_cache(maxsize=1024)
def _paths_of(fields_v1: bytes) -> frozenset[Path]:
    """The paths of a serialized FieldsV1. The same sets come back write
    after write (every pod of a controller, each manager's entry kept as it
    was), and reading a Struct walks it in Python."""
    struct = Struct()
    struct.ParseFromString(fields_v1)
    return frozenset(_struct_paths(struct, ()))


@functools.lru_cache(maxsize=1024)
def _fields_v1_of(paths: frozenset[Path]) -> bytes:
    """A set of paths as a serialized FieldsV1 (``Struct.update`` is Python:
    ~5% of an update before this cache)."""
    struct = Struct()
    struct.update(fieldpaths.to_fields_v1(set(paths)))
    return struct.SerializeToString()


def _struct_paths(struct: Any, path: Path) -> set[Path]:
    paths: set[Path] = set()
    for element, value in struct.fields.items():
        nested = value.WhichOneof("kind") == "struct_value" and len(value.struct_value.fields)
        if element == ".":
            paths.add(path)
        elif nested:
            paths |= _struct_paths(value.struct_value, (*path, element))
        else:
            paths.add((*path, element))
    return paths


def store_entries(obj: Any, entries: list[Entry]) -> None:
    field = obj.metadata.managed_fields
    kept = [_copy(e.source) if e.unchanged() else None for e in entries]
    del field[:]
    for e, stored in zip(entries, kept, strict=True):
        if stored is not None:
            if e.time:
                stored.time.seconds, stored.time.nanos = _parse_time(e.time)
            stored.api_version = e.api_version
            field.append(stored)
            continue
        entry = field.add(
            manager=e.manager,
            operation=e.operation,
            api_version=e.api_version,
            fields_type="FieldsV1",
            subresource=e.subresource,
        )
        if e.time:
            entry.time.seconds, entry.time.nanos = _parse_time(e.time)
        entry.fields_v1.MergeFromString(_fields_v1_of(frozenset(e.fields)))


def _copy(message: Any) -> Any:
    copied = type(message)()
    copied.CopyFrom(message)
    return copied


def owned_document(obj: Any, write: Write) -> dict[str, Any]:
    """The JSON of the fields of ``obj`` managers may own (see
    ``fieldmanager.owned``), without serializing managedFields themselves."""
    if write.subresource == "status":
        return {"status": to_dict(obj.status)} if obj.HasField("status") else {}
    return _owned(_scoped(obj, write), write)


def _scoped(obj: Any, write: Write) -> Any:
    """A copy without what no manager owns: managedFields, the server's
    metadata and (through the main resource) the status."""
    scoped = type(obj)()
    scoped.CopyFrom(obj)
    for name in SERVER_FIELDS:
        scoped.metadata.ClearField(name)
    if write.has_status and scoped.DESCRIPTOR.fields_by_name.get("status") is not None:
        scoped.ClearField("status")
    return scoped


def track_create(kind: Kind, new: Any, manager: str) -> None:
    """A create is an Update of every field by its manager; managedFields a
    client sent are not kept."""
    new.metadata.ClearField("managed_fields")
    write = write_of(kind, manager)
    store_entries(new, fieldmanager.record_update(None, owned_document(new, write), [], write))


def track_update(kind: Kind, old: Any, new: Any, manager: str, subresource: str = "") -> None:
    """An update, patch or status write: the manager takes the fields it
    changed. managedFields the client changed replace the stored ones, as in
    Kubernetes (that is how they are reset); left alone they are kept."""
    sent = new.metadata.managed_fields
    kept = old.metadata.managed_fields
    base = old if not len(sent) or list(sent) == list(kept) else new
    write = write_of(kind, manager, subresource)
    documents = changed_documents(old, new, write)
    if documents is None:  # the common no-op write: nothing moves
        if base is old:
            del sent[:]
            sent.extend(kept)
        return
    entries = fieldmanager.record_update(*documents, entries_of(base), write)
    store_entries(new, entries)


Documents = tuple[dict[str, Any], dict[str, Any]]


def changed_documents(old: Any, new: Any, write: Write) -> Documents | None:
    """What ``record_update`` compares of an update: the owned documents of
    ``old`` and ``new`` (None when they are equal). A top-level field equal
    in both adds the same leaves to each, so for the main resource only the
    top-level fields that differ are written as JSON: removing a finalizer
    converts the two metadata, not two whole pods (to_dict was ~20% of an
    update). Not below the top: an empty object there is a leaf of its own.
    """
    if write.subresource == "status":
        if old.status == new.status:
            return None
        return owned_document(old, write), owned_document(new, write)
    before, after = _scoped(old, write), _scoped(new, write)
    if before == after:
        return None
    if kinds.generic_message(before) is not None:  # a custom object: its codec writes it whole
        return _owned(before, write), _owned(after, write)
    fields, later = dict(before.ListFields()), dict(after.ListFields())
    for field in fields.keys() & later.keys():
        if fields[field] == later[field]:
            before.ClearField(field.name)  # both are copies of our own
            after.ClearField(field.name)
    return _owned(before, write), _owned(after, write)


def _owned(scoped: Any, write: Write) -> dict[str, Any]:
    return fieldmanager.owned(to_dict(scoped), write)


def parse_config(kind: Kind, name: str, body: bytes) -> dict[str, Any]:
    """The applied configuration (JSON or YAML): an object of this kind and
    name, as Kubernetes checks it."""
    text = body.lstrip()
    document = (
        decode_json(body, "the applied configuration")
        if text[:1] in (b"{", b"[")
        else decode_yaml(body)
    )
    if not isinstance(document, dict):
        raise errors.BadRequestError("the applied configuration must be an object")
    api_version, kind_name = document.get("apiVersion"), document.get("kind")
    if api_version != kind.api_version or kind_name != kind.kind:
        raise errors.BadRequestError(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({kind.api_version})"
            if api_version != kind.api_version
            else f"the kind in the data ({kind_name}) does not match the expected kind "
            f"({kind.kind})"
        )
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        raise errors.BadRequestError("metadata.name: Required value: name is required")
    if metadata["name"] != name:
        raise errors.BadRequestError(
            f"the name of the object ({metadata['name']}) does not match the name on the "
            f"URL ({name})"
        )
    if metadata.get("managedFields"):
        raise errors.BadRequestError("metadata.managedFields must be nil")
    return document


def applied(
    kind: Kind,
    live: Any | None,
    config: dict[str, Any],
    manager: str,
    status: bool = False,
) -> dict[str, Any]:
    """The object's JSON after ``manager`` applies ``config`` (not yet
    defaulted); a new object when there is none."""
    write = write_of(kind, manager, "status" if status else "")
    if live is None:
        return fieldmanager.merge({}, config)
    return fieldmanager.apply_config(to_json(live), config, entries_of(live), write)


def track_apply(
    kind: Kind,
    live: Any | None,
    new: Any,
    config: dict[str, Any],
    manager: str,
    *,
    force: bool,
    status: bool = False,
) -> None:
    """Ownership after an apply, once ``new`` is final: the applier owns the
    applied fields; a conflict raises ConflictError unless forced."""
    write = write_of(kind, manager, "status" if status else "")
    live_doc = owned_document(live, write) if live is not None else None
    entries = entries_of(live) if live is not None else []
    new_doc = owned_document(new, write)
    try:
        result = fieldmanager.record_apply(live_doc, new_doc, config, entries, write, force=force)
    except fieldmanager.ApplyConflictError as err:
        allowed = lastapplied.allowed_conflicts(live, write)
        left = [(e, p) for e, p in err.conflicts if p not in allowed]
        if left:
            raise fieldmanager.conflict_error(left) from None
        result = fieldmanager.record_apply(live_doc, new_doc, config, entries, write, force=True)
    store_entries(new, result)
    if not status:
        lastapplied.sync_annotation(new, config, manager)
