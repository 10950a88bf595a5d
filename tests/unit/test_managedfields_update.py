"""An update's field ownership is computed from the top-level fields that
differ only (``managedfields.changed_documents``): it must give exactly what
comparing the whole owned documents gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from shoal import kinds
from shoal.apiserver import fieldmanager, managedfields
from shoal.manifest import from_dict

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "uid": "u-1",
        "labels": {"app": "web"},
        "finalizers": ["batch.kubernetes.io/job-tracking"],
    },
    "spec": {
        "restartPolicy": "Never",
        "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", "echo ok"]}],
    },
    "status": {"phase": "Running"},
}


def _drop_finalizer(p: Any) -> None:
    del p.metadata.finalizers[:]


def _label(p: Any) -> None:
    p.metadata.labels["tier"] = "front"


def _image(p: Any) -> None:
    p.spec.containers[0].image = "busybox:2"


def _node(p: Any) -> None:
    p.spec.node_name = "node-1"


def _labels_gone(p: Any) -> None:
    p.metadata.ClearField("labels")
    del p.metadata.finalizers[:]


def _status_only(p: Any) -> None:
    p.status.phase = "Succeeded"


def _spec_and_metadata(p: Any) -> None:
    _image(p)
    _label(p)
    p.spec.active_deadline_seconds = 30


def _spec_emptied(p: Any) -> None:
    p.spec.Clear()


CHANGES: list[Callable[[Any], None]] = [
    _drop_finalizer,
    _label,
    _image,
    _node,
    _labels_gone,
    _status_only,
    _spec_and_metadata,
    _spec_emptied,
]


def _ownership(old: Any, new: Any, documents: tuple[Any, Any]) -> dict[str, set[Any]]:
    write = managedfields.write_of(kinds.for_message(old), "kubectl")
    before = managedfields.entries_of(old)
    entries = fieldmanager.record_update(*documents, before, write)
    return {e.manager: set(e.fields) for e in entries}


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.__name__)
def test_changed_documents_give_what_whole_documents_give(change: Callable[[Any], None]) -> None:
    old = from_dict(POD)
    managedfields.track_create(kinds.for_message(old), old, "job-controller")
    new = type(old)()
    new.CopyFrom(old)
    change(new)
    write = managedfields.write_of(kinds.for_message(old), "kubectl")
    whole = (managedfields.owned_document(old, write), managedfields.owned_document(new, write))
    cut = managedfields.changed_documents(old, new, write)
    if whole[0] == whole[1]:
        assert cut is None
        return
    assert cut is not None
    assert _ownership(old, new, cut) == _ownership(old, new, whole)
    before = {e.manager: set(e.fields) for e in managedfields.entries_of(old)}
    assert _ownership(old, new, cut) != before  # something moved


def test_an_unchanged_update_has_no_documents() -> None:
    old = from_dict(POD)
    new = type(old)()
    new.CopyFrom(old)
    new.metadata.resource_version = "42"  # the server's own field
    write = managedfields.write_of(kinds.for_message(old), "kubectl")
    assert managedfields.changed_documents(old, new, write) is None


def test_fields_v1_round_trips_through_the_caches() -> None:
    """A created pod's entry written from the cached FieldsV1 reads back to
    the same paths, the second pod's alike (a cache hit), and equal to the
    tree Struct.update writes without the cache."""
    from google.protobuf.struct_pb2 import Struct
    from shoal.apiserver import fieldpaths

    kind = kinds.resolve("pods")
    first, second = from_dict(POD), from_dict({**POD, "metadata": {**POD["metadata"], "name": "b"}})
    for pod in (first, second):
        managedfields.track_create(kind, pod, "job-controller")
    [a], [b] = managedfields.entries_of(first), managedfields.entries_of(second)
    assert a.fields == b.fields
    assert ("f:spec", "f:containers", 'k:{"name":"c"}') in a.fields  # "." below it
    assert ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image") in a.fields
    plain = Struct()
    plain.update(fieldpaths.to_fields_v1(set(a.fields)))
    assert first.metadata.managed_fields[0].fields_v1 == plain
    assert second.metadata.managed_fields[0].fields_v1 == plain
