"""Reading and writing Kubernetes manifests (JSON or YAML) as typed messages.

The messages' protobuf JSON mapping *is* the Kubernetes JSON, so parsing is
json_format.ParseDict. Before that, the document is checked against the
message descriptor (see manifest_schema), so a mistake is reported with its
field path in the words kubectl uses, not as a protobuf parse error.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from google.protobuf import json_format
from google.protobuf.message import Message
from shoal import kinds
from shoal.manifest_always import canonicalize, finish
from shoal.manifest_schema import ManifestError, check_object, describe

__all__ = ["ManifestError", "from_dict", "load_documents", "to_dict"]


class _SurrogateCheck:
    """protobuf's JSON parser scans every string with a regex for unpaired
    surrogates: 45 ms for a 1 MiB ConfigMap value, holding the GIL, so one
    large body would stall the API server's event loop. An ASCII string (a
    C-speed test) has no surrogates; only others take the regex."""

    def __init__(self, pattern: Any) -> None:
        self.pattern = pattern

    def search(self, text: str) -> Any:
        return None if text.isascii() else self.pattern.search(text)


_pattern = getattr(json_format, "_UNPAIRED_SURROGATE_PATTERN", None)
if _pattern is not None and not isinstance(_pattern, _SurrogateCheck):
    json_format._UNPAIRED_SURROGATE_PATTERN = _SurrogateCheck(_pattern)  # type: ignore[attr-defined]


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings (as Kubernetes' YAML to JSON
    conversion does) and rejects duplicate keys (as kubectl does)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen and key != "<<":
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f'mapping key "{key}" already defined at line {seen[key]}',
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_documents(text: str, source: str = "<stdin>") -> list[dict[str, Any]]:
    """The objects in a JSON or (multi-document) YAML text. Empty documents are
    skipped; a List (kind "List", "PodList", ...) gives its items."""
    raw = _parse_json(text, source) if text.lstrip().startswith("{") else _parse_yaml(text, source)
    documents: list[dict[str, Any]] = []
    for number, doc in enumerate(raw, 1):
        if doc is None or doc == {}:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(
                f"{source}: document {number}: expected an object, got {describe(doc)}"
            )
        documents.extend(_expand_list(doc, f"{source}: document {number}"))
    return documents


def _parse_json(text: str, source: str) -> list[Any]:
    # kubectl accepts a stream of JSON objects, one after another.
    decoder, docs, pos = json.JSONDecoder(), [], 0
    try:
        while (pos := len(text) - len(text[pos:].lstrip())) < len(text):
            doc, pos = decoder.raw_decode(text, pos)
            docs.append(doc)
    except json.JSONDecodeError as err:
        raise ManifestError(f"{source}: line {err.lineno}: {err.msg}") from None
    return docs


def _parse_yaml(text: str, source: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = err.problem or err.context or "invalid YAML"
        raise ManifestError(f"{source}: {where}{problem}") from None
    except yaml.YAMLError as err:
        raise ManifestError(f"{source}: {err}") from None


def _expand_list(doc: dict[str, Any], where: str) -> list[dict[str, Any]]:
    kind, api_version = doc.get("kind"), doc.get("apiVersion")
    if not (isinstance(kind, str) and kind.endswith("List") and "items" in doc):
        return [doc]
    items = doc["items"] or []
    if not isinstance(items, list):
        raise ManifestError(f"{where}: items: expected list, got {describe(items)}", "items")
    item_kind = kind.removesuffix("List")  # "PodList" items may omit their kind
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ManifestError(
                f"{where}: items[{i}]: expected an object, got {describe(item)}", f"items[{i}]"
            )
        if item_kind:
            item = {"apiVersion": api_version, "kind": item_kind, **item}
        out.extend(_expand_list(item, where))
    return out


def from_dict(data: dict[str, Any]) -> Message:
    """The typed message for a Kubernetes object: apiVersion and kind choose the
    message. Raises ManifestError, naming the field, for anything wrong."""
    if not isinstance(data, dict):
        raise ManifestError(f"expected an object, got {describe(data)}")
    api_version, kind_name = data.get("apiVersion"), data.get("kind")
    if not api_version:
        raise ManifestError("apiVersion not set", "apiVersion")
    if not kind_name:
        raise ManifestError("kind not set", "kind")
    if not isinstance(api_version, str) or not isinstance(kind_name, str):
        field, value = (
            ("apiVersion", api_version) if not isinstance(api_version, str) else ("kind", kind_name)
        )
        raise ManifestError(f"{field}: expected string, got {describe(value)}", field)
    try:
        kind = kinds.by_api_version_kind(api_version, kind_name)
    except kinds.UnknownKindError as err:
        raise ManifestError(str(err), "kind") from None
    generic = kinds.generic_message(kind.message)
    if generic is not None:  # a custom object: its own codec checks it
        return generic.from_dict(kind, data)
    checked = check_object(data, kind.message.DESCRIPTOR, kind.kind)
    message = kind.message()
    try:
        json_format.ParseDict(checked, message)
    except json_format.ParseError as err:  # what the check does not foresee
        raise ManifestError(f"invalid {kind.kind}: {err}") from None
    canonicalize(message)  # the zeros to_dict writes read as unset
    return message


def to_dict(msg: Message) -> dict[str, Any]:
    """The Kubernetes JSON of a message: apiVersion and kind first (for
    registered kinds), a field that holds its default omitted unless
    Kubernetes always writes it (options.proto's `always`), 64-bit integers
    as JSON numbers."""
    generic = kinds.generic_message(msg)
    if generic is not None:  # a custom object: its own codec writes it
        return generic.to_dict(msg)
    body = json_format.MessageToDict(msg, preserving_proto_field_name=False)
    finish(body, msg.DESCRIPTOR)
    try:
        kind = kinds.for_message(msg)
    except kinds.UnknownKindError:
        return body
    body.pop("apiVersion", None)
    body.pop("kind", None)
    return {"apiVersion": kind.api_version, "kind": kind.kind, **body}
