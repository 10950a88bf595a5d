"""A merge patch of metadata's labels, annotations and finalizers is applied
to the typed object directly (``patch.merge_metadata``); the result must be
what the JSON round trip gives, and any other patch must be left to it."""

from __future__ import annotations

from typing import Any

import pytest
from shoal import kinds
from shoal.apiserver.manifests import from_json, to_json
from shoal.apiserver.patch import merge_metadata, merge_patch
from shoal.manifest import from_dict

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "uid": "u-1",
        "resourceVersion": "7",
        "labels": {"app": "web", "tier": "front"},
        "annotations": {"note": "x"},
        "finalizers": ["batch.kubernetes.io/job-tracking", "example.com/keep"],
    },
    "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {}}]},
}
CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "cm", "namespace": "default"},
    "data": {"k": "v"},
}

APPLIED = [
    (POD, {"metadata": {"labels": {"app": "api", "new": "1"}}}),
    (POD, {"metadata": {"labels": {"tier": None}}}),
    (POD, {"metadata": {"labels": None}}),
    (POD, {"metadata": {"labels": {}}}),
    (POD, {"metadata": {"annotations": {"note": None, "other": ""}}}),
    (POD, {"metadata": {"finalizers": ["example.com/keep"], "resourceVersion": "7"}}),
    (POD, {"metadata": {"finalizers": []}}),
    (POD, {"metadata": {"finalizers": None}}),
    (POD, {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": "b"}}}),
    (POD, {"metadata": {"resourceVersion": None}}),
    (POD, {}),
    (CONFIGMAP, {"metadata": {"labels": {"a": "b"}, "finalizers": ["x/y"]}}),
]

LEFT_TO_JSON = [
    {"spec": {"restartPolicy": "Never"}},
    {"metadata": {"labels": {"a": 1}}},
    {"metadata": {"labels": {"a": {"b": "c"}}}},
    {"metadata": {"labels": ["a"]}},
    {"metadata": {"annotations": "x"}},
    {"metadata": {"finalizers": "x"}},
    {"metadata": {"finalizers": [1]}},
    {"metadata": {"uid": "u-2"}},
    {"metadata": {"ownerReferences": []}},
    {"metadata": {"name": "other"}},
    {"metadata": {"resourceVersion": 7}},
    {"metadata": None},
    {"metadata": {"labels": {"a": "b"}}, "status": {"phase": "Failed"}},
    {"apiVersion": 1, "metadata": {"labels": {"a": "b"}}},
]


def _through_json(obj: Any, patch: dict[str, Any]) -> Any:
    return from_json(kinds.for_message(obj), merge_patch(to_json(obj), patch))


@pytest.mark.parametrize("document,patch", APPLIED)
def test_a_metadata_patch_gives_what_the_json_round_trip_gives(
    document: dict[str, Any], patch: dict[str, Any]
) -> None:
    obj = from_dict(document)
    patched = type(obj)()
    patched.CopyFrom(obj)
    assert merge_metadata(patched, patch)
    expected = _through_json(obj, patch)
    # the patch's resourceVersion is its precondition: the registry puts the
    # stored one back on either way
    expected.metadata.resource_version = patched.metadata.resource_version
    assert patched == expected


@pytest.mark.parametrize("patch", LEFT_TO_JSON)
def test_any_other_patch_is_left_to_the_json_round_trip(patch: dict[str, Any]) -> None:
    obj = from_dict(POD)
    untouched = type(obj)()
    untouched.CopyFrom(obj)
    assert not merge_metadata(obj, patch)
    assert obj == untouched
