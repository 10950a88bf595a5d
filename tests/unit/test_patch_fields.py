"""A merge patch takes only the top-level fields it names through the
object's JSON (``patch.merge_named_fields``). For every manifest of the
project's examples and a spread of patches of each of its fields, the result
or the error must be what the round trip of the whole object gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shoal import errors, kinds
from shoal.apiserver.manifests import from_json, to_json
from shoal.apiserver.patch import merge_named_fields, merge_patch
from shoal.manifest import from_dict, load_documents

MANIFESTS = Path(__file__).parent.parent / "manifests"


def _objects() -> list[tuple[str, Any]]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for i, doc in enumerate(load_documents(path.read_text(), str(path))):
            if doc.get("kind") == "List":
                continue
            found.append((f"{path.name}#{i}", from_dict(doc)))
    return found


def _patches(obj: Any) -> list[dict[str, Any]]:
    body = to_json(obj)
    patches: list[dict[str, Any]] = [{}, {"bogusField": 1}, {"apiVersion": "x/v9"}]
    for key, value in body.items():
        if key in ("apiVersion", "kind"):
            continue
        patches += [{key: None}, {key: value}, {key: "text"}, {key: 7}]
        if isinstance(value, dict):
            patches += [{key: {"bogusField": 1}}, {key: {}}]
            for sub, inner in value.items():
                patches += [{key: {sub: None}}, {key: {sub: inner}}, {key: {sub: 12345}}]
                patches.append({key: {sub: inner}, "metadata": {"annotations": {"a": 1}}})
    return patches


def _copy(obj: Any) -> Any:
    copy = type(obj)()
    copy.CopyFrom(obj)
    return copy


def _outcome(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except errors.APIError as err:
        return (type(err).__name__, str(err))


@pytest.mark.parametrize("name,obj", _objects(), ids=[n for n, _ in _objects()])
def test_a_patch_of_named_fields_gives_what_the_whole_round_trip_gives(name: str, obj: Any) -> None:
    kind = kinds.for_message(obj)
    for patch in _patches(obj):
        whole = _outcome(from_json, kind, merge_patch(to_json(obj), patch))
        named = _outcome(merge_named_fields, kind, _copy(obj), patch)
        assert named == whole, patch


def test_fields_the_patch_does_not_name_stay_as_stored() -> None:
    """An empty securityContext the whole round trip would drop stays."""
    pod = from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        }
    )
    pod.spec.security_context.SetInParent()
    patched = merge_named_fields(kinds.for_message(pod), pod, {"status": {"phase": "Running"}})
    assert patched.spec.HasField("security_context")
    assert patched.status.phase == "Running"
