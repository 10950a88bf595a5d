"""``metadata.managedFields`` on typed objects: the registry's side of the
field manager (``fieldmanager`` works on Kubernetes JSON dicts). Every write
path of the registry calls one of these once the object is final (defaulted),
so gRPC and REST clients are tracked alike."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from shoal import errors
from shoal.api.v1 import meta_pb2
from shoal.apiserver import fieldmanager, meta
from shoal.apiserver.decoding import decode_json, decode_yaml
from shoal.apiserver.fieldmanager import Entry, Write
from shoal.apiserver.manifests import to_json
from shoal.kinds import Kind

# The manager of a write that names none and comes from no known client.
UNKNOWN_MANAGER = "unknown"


def default_manager(user_agent: str) -> str:
    """Kubernetes' default field manager: the client's user agent up to its
    first "/" (``kubectl/v1.32.0 (linux/amd64)`` -> ``kubectl``)."""
    name = user_agent.split("/", 1)[0].strip()
    return name[: fieldmanager.MAX_MANAGER_LENGTH] or UNKNOWN_MANAGER


def write_of(kind: Kind, manager: str, subresource: str = "") -> Write:
    return Write(
        manager=manager or UNKNOWN_MANAGER,
        api_version=kind.api_version,
        time=meta.now().ToJsonString(),
        subresource=subresource,
        has_status=kind.has_status,
    )


def entries_of(document: dict[str, Any]) -> list[Entry]:
    return fieldmanager.decode((document.get("metadata") or {}).get("managedFields") or [])


def store_entries(obj: Any, entries: list[Entry]) -> None:
    field = obj.metadata.managed_fields
    del field[:]
    for entry in fieldmanager.encode(entries):
        field.append(json_format.ParseDict(entry, meta_pb2.ManagedFieldsEntry()))


def track_create(kind: Kind, new: Any, manager: str) -> None:
    """A create is an Update of every field by its manager; managedFields a
    client sent are not kept."""
    new.metadata.ClearField("managed_fields")
    write = write_of(kind, manager)
    store_entries(new, fieldmanager.record_update(None, to_json(new), [], write))


def track_update(kind: Kind, old: Any, new: Any, manager: str, subresource: str = "") -> None:
    """An update, patch or status write: the manager takes the fields it
    changed. managedFields the client changed replace the stored ones, as in
    Kubernetes (that is how they are reset); left alone they are kept."""
    sent = new.metadata.managed_fields
    base = old if not len(sent) or list(sent) == list(old.metadata.managed_fields) else new
    old_doc, new_doc = to_json(old), to_json(new)
    entries = fieldmanager.record_update(
        old_doc, new_doc, entries_of(to_json(base)), write_of(kind, manager, subresource)
    )
    store_entries(new, entries)


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
    document = to_json(live)
    return fieldmanager.apply_config(document, config, entries_of(document), write)


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
    live_doc = to_json(live) if live is not None else None
    entries = entries_of(live_doc) if live_doc is not None else []
    result = fieldmanager.record_apply(live_doc, to_json(new), config, entries, write, force=force)
    store_entries(new, result)
