"""Defaulting and validation of a CustomResourceDefinition, as Kubernetes'
apiextensions validation does it, on the definition's JSON form."""

from __future__ import annotations

import re
from typing import Any

from shoal.jsonpath import JSONPathError, parse_path
from shoal.plugins.kinds import crdschema
from shoal.strategy import Causes

Obj = dict[str, Any]
SCOPES = ("Cluster", "Namespaced")
COLUMN_TYPES = ("integer", "number", "string", "boolean", "date")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_KIND = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def default(crd: Obj) -> None:
    spec = crd.setdefault("spec", {})
    names = spec.setdefault("names", {})
    kind = names.get("kind") or ""
    if kind and not names.get("singular"):
        names["singular"] = kind.lower()
    if kind and not names.get("listKind"):
        names["listKind"] = kind + "List"
    conversion = spec.setdefault("conversion", {})
    conversion.setdefault("strategy", "None")


def _dns1035(value: Any, path: str) -> Causes:
    if isinstance(value, str) and len(value) <= 63 and _DNS1035.match(value):
        return []
    return [(path, f'Invalid value: "{value}": a DNS-1035 label must consist of lower case '
             "alphanumeric characters or '-', start with an alphabetic character, and end "
             "with an alphanumeric character")]  # fmt: skip


def validate(crd: Obj) -> Causes:
    spec = crd.get("spec") or {}
    group = str(spec.get("group") or "")
    names = spec.get("names") or {}
    causes: Causes = []
    if not group:
        causes.append(("spec.group", "Required value"))
    elif "." not in group or not _SUBDOMAIN.match(group):
        causes.append(("spec.group", f'Invalid value: "{group}": should be a domain with at '
                       "least one dot"))  # fmt: skip
    name = str((crd.get("metadata") or {}).get("name", ""))
    plural = str(names.get("plural") or "")
    if plural and group and name != f"{plural}.{group}":
        causes.append(("metadata.name", f'Invalid value: "{name}": must be '
                       'spec.names.plural+"."+spec.group'))  # fmt: skip
    causes += _validate_names(names)
    scope = spec.get("scope")
    if not scope:
        causes.append(("spec.scope", "Required value"))
    elif scope not in SCOPES:
        causes.append(("spec.scope", f'Unsupported value: "{scope}": supported values: '
                       '"Cluster", "Namespaced"'))  # fmt: skip
    strategy = (spec.get("conversion") or {}).get("strategy", "None")
    if strategy != "None":
        causes.append(("spec.conversion.strategy", f'Unsupported value: "{strategy}": '
                       'supported values: "None"'))  # fmt: skip
    if spec.get("preserveUnknownFields"):
        causes.append(("spec.preserveUnknownFields", "Invalid value: true: must be false"))
    causes += _validate_versions(spec.get("versions") or [])
    return causes


def _validate_names(names: Obj) -> Causes:
    causes: Causes = []
    for field in ("plural", "kind"):
        if not names.get(field):
            causes.append((f"spec.names.{field}", "Required value"))
    if names.get("plural"):
        causes += _dns1035(names["plural"], "spec.names.plural")
    if names.get("singular"):
        causes += _dns1035(names["singular"], "spec.names.singular")
    kind = names.get("kind")
    if kind and not _KIND.match(str(kind)):
        causes.append(("spec.names.kind", f'Invalid value: "{kind}": may have mixed case, but '
                       "should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?"))  # fmt: skip
    if kind and kind == names.get("listKind"):
        causes.append(("spec.names.listKind", f'Invalid value: "{kind}": kind and listKind '
                       "may not be the same"))  # fmt: skip
    for i, short in enumerate(names.get("shortNames") or ()):
        causes += _dns1035(short, f"spec.names.shortNames[{i}]")
    for i, category in enumerate(names.get("categories") or ()):
        causes += _dns1035(category, f"spec.names.categories[{i}]")
    return causes


def _validate_versions(versions: list[Obj]) -> Causes:
    if not versions:
        return [("spec.versions", "Required value: must have exactly one version marked as "
                 "storage version")]  # fmt: skip
    causes: Causes = []
    storage = sum(1 for v in versions if v.get("storage"))
    if storage != 1:
        causes.append(("spec.versions", f"Invalid value: {storage}: must have exactly one "
                       "version marked as storage version"))  # fmt: skip
    if not any(v.get("served") for v in versions):
        causes.append(("spec.versions", "Invalid value: must have at least one served version"))
    seen: set[str] = set()
    for i, version in enumerate(versions):
        path = f"spec.versions[{i}]"
        name = version.get("name")
        if not name:
            causes.append((f"{path}.name", "Required value"))
        else:
            causes += _dns1035(name, f"{path}.name")
            if name in seen:
                causes.append((f"{path}.name", f'Duplicate value: "{name}"'))
            seen.add(name)
        causes += _validate_version(version, path)
    return causes


def _validate_version(version: Obj, path: str) -> Causes:
    causes: Causes = []
    schema = (version.get("schema") or {}).get("openAPIV3Schema")
    where = f"{path}.schema.openAPIV3Schema"
    if not schema:
        causes.append((where, "Required value: schemas are required"))
    else:
        causes += crdschema.check_structural(schema, where)
        if isinstance(schema, dict) and schema.get("type") not in (None, "object"):
            causes.append((f"{where}.type", 'Invalid value: must be "object" at the root'))
    scale = (version.get("subresources") or {}).get("scale")
    if scale:
        for field, prefix in (("specReplicasPath", ".spec."), ("statusReplicasPath", ".status.")):
            value = str(scale.get(field) or "")
            if not value.startswith(prefix):
                causes.append((f"{path}.subresources.scale.{field}", f'Invalid value: "{value}": '
                               f"should be a json path under {prefix.rstrip('.')}"))  # fmt: skip
    for i, column in enumerate(version.get("additionalPrinterColumns") or ()):
        causes += _validate_column(column, f"{path}.additionalPrinterColumns[{i}]")
    return causes


def _validate_column(column: Obj, path: str) -> Causes:
    causes: Causes = []
    if not column.get("name"):
        causes.append((f"{path}.name", "Required value"))
    kind = column.get("type")
    if not kind:
        causes.append((f"{path}.type", "Required value"))
    elif kind not in COLUMN_TYPES:
        shown = ", ".join(f'"{t}"' for t in COLUMN_TYPES)
        causes.append((f"{path}.type", f'Unsupported value: "{kind}": supported values: {shown}'))
    json_path = column.get("jsonPath")
    if not json_path:
        causes.append((f"{path}.jsonPath", "Required value"))
    else:
        try:
            parse_path(str(json_path).strip("{}"))
        except JSONPathError:
            causes.append((f"{path}.jsonPath", f'Invalid value: "{json_path}": must be a '
                           "simple json path"))  # fmt: skip
    return causes


def validate_update(old: Obj, new: Obj) -> Causes:
    """What may not change once a definition exists (shoal keeps the names
    fixed: renaming a served kind is not supported)."""
    causes: Causes = []
    o, n = old.get("spec") or {}, new.get("spec") or {}
    for field in ("group", "scope"):
        if o.get(field) != n.get(field):
            causes.append((f"spec.{field}", "Invalid value: field is immutable"))
    for field in ("plural", "kind"):
        if (o.get("names") or {}).get(field) != (n.get("names") or {}).get(field):
            causes.append((f"spec.names.{field}", "Invalid value: field is immutable"))
    return causes
