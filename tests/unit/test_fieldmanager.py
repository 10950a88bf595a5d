"""Field sets (FieldsV1) and the field manager's merge, ownership and
conflicts, on plain Kubernetes JSON: the rules of structured-merge-diff."""

from __future__ import annotations

import copy

import pytest
from shoal import errors
from shoal.apiserver import fieldmanager, fieldpaths
from shoal.apiserver.fieldmanager import APPLY, UPDATE, Entry, Write

POD_SPEC = {
    "containers": [
        {
            "name": "nginx",
            "image": "nginx:1.25",
            "args": ["-g", "daemon off;"],
            "ports": [{"containerPort": 80}],
            "env": [{"name": "A", "value": "1"}],
        }
    ],
}


def write(manager: str = "me") -> Write:
    return Write(manager=manager, api_version="v1", time="2026-01-01T00:00:00Z")


def pod(**spec: object) -> dict:
    body = copy.deepcopy(POD_SPEC)
    body.update(spec)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "uid": "u", "labels": {"app": "web"}},
        "spec": body,
        "status": {"phase": "Pending"},
    }


def test_field_set_in_kubernetes_fieldsv1_form() -> None:
    owned = fieldmanager.owned(pod(), write())
    fields = fieldpaths.to_fields_v1(set(fieldpaths.leaves(owned)))
    assert fields == {
        "f:metadata": {"f:labels": {"f:app": {}}},  # not name or uid: the server's
        "f:spec": {
            "f:containers": {
                'k:{"name":"nginx"}': {
                    ".": {},
                    "f:args": {},  # a list without keys is atomic
                    "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                        'k:{"containerPort":80,"protocol":"TCP"}': {
                            ".": {},
                            "f:containerPort": {},
                        }
                    },
                }
            }
        },
    }
    assert "f:status" not in fields  # the status subresource's


def test_fieldsv1_round_trip_and_sets_of_scalars() -> None:
    doc = {"metadata": {"finalizers": ["a", "b"]}, "data": {"x": "1"}, "empty": {}}
    paths = set(fieldpaths.leaves(doc))
    tree = fieldpaths.to_fields_v1(paths)
    assert tree["f:metadata"] == {"f:finalizers": {'v:"a"': {}, 'v:"b"': {}}}
    assert tree["f:empty"] == {}
    assert fieldpaths.from_fields_v1(tree) == paths


def test_path_strings_as_kubernetes_prints_them() -> None:
    path = ("f:spec", "f:containers", 'k:{"name":"nginx"}', "f:image")
    assert fieldpaths.path_string(path) == '.spec.containers[name="nginx"].image'
    port = ("f:ports", 'k:{"containerPort":80,"protocol":"TCP"}')
    assert fieldpaths.path_string(port) == '.ports[containerPort=80,protocol="TCP"]'
    assert fieldpaths.path_string(("f:finalizers", 'v:"x"')) == '.finalizers[="x"]'
    assert fieldpaths.path_string(("f:items", "i:2")) == ".items[2]"


def test_merge_keys_associative_lists_and_replaces_atomic_ones() -> None:
    live = pod()
    config = {
        "spec": {
            "containers": [
                {"name": "side", "image": "busybox"},
                {"name": "nginx", "image": "nginx:1.27", "args": ["x"]},
            ]
        }
    }
    merged = fieldmanager.merge(live, config)
    containers = merged["spec"]["containers"]
    assert [c["name"] for c in containers] == ["nginx", "side"]
    assert containers[0]["image"] == "nginx:1.27" and containers[0]["args"] == ["x"]
    assert containers[0]["env"] == [{"name": "A", "value": "1"}]  # kept: not in the config
    assert live["spec"]["containers"][0]["image"] == "nginx:1.25"  # live untouched


def test_update_takes_the_changed_fields_from_others() -> None:
    old = pod()
    entries = fieldmanager.record_update(None, old, [], write("creator"))
    new = pod()
    new["spec"]["containers"][0]["image"] = "nginx:1.27"
    new["metadata"]["labels"]["team"] = "a"
    after = fieldmanager.record_update(old, new, entries, write("editor"))
    by = {e.manager: e.fields for e in after}
    image = ("f:spec", "f:containers", 'k:{"name":"nginx"}', "f:image")
    assert image in by["editor"] and image not in by["creator"]
    assert ("f:metadata", "f:labels", "f:team") in by["editor"]
    assert fieldmanager.record_update(new, new, after, write("x")) == after  # no change


def test_apply_conflict_force_and_shared_ownership() -> None:
    live = pod()
    entries = [Entry("scaler", UPDATE, "v1", fields={("f:spec", "f:containers")})]
    entries[0].fields = {("f:spec", "f:containers", 'k:{"name":"nginx"}', "f:image")}
    config = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}
    config["spec"] = {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}
    merged = fieldmanager.apply_config(live, config, entries, write("deployer"))
    with pytest.raises(errors.ConflictError) as caught:
        fieldmanager.record_apply(
            live, merged, config, copy.deepcopy(entries), write("deployer"), force=False
        )
    assert str(caught.value) == (
        'Apply failed with 1 conflict: conflict with "scaler" using v1: '
        '.spec.containers[name="nginx"].image'
    )
    forced = fieldmanager.record_apply(
        live, merged, config, copy.deepcopy(entries), write("deployer"), force=True
    )
    assert [(e.manager, e.operation) for e in forced] == [("deployer", APPLY)]
    # the same value as live: no conflict, both own the field
    same = copy.deepcopy(config)
    same["spec"]["containers"][0]["image"] = "nginx:1.25"
    merged = fieldmanager.apply_config(live, same, entries, write("deployer"))
    shared = fieldmanager.record_apply(
        live, merged, same, copy.deepcopy(entries), write("deployer"), force=False
    )
    assert {e.manager for e in shared} == {"scaler", "deployer"}


def test_several_conflicts_are_listed_by_manager() -> None:
    a = ("f:spec", "f:replicas")
    b = ("f:spec", "f:paused")
    err = fieldmanager.conflict_error(
        [(Entry("x", APPLY, "apps/v1"), a), (Entry("x", APPLY, "apps/v1"), b)]
    )
    assert (
        str(err)
        == 'Apply failed with 2 conflicts: conflicts with "x":\n- .spec.replicas\n- .spec.paused'
    )
    assert err.causes == [
        (".spec.replicas", 'conflict with "x"'),
        (".spec.paused", 'conflict with "x"'),
    ]


def test_apply_removes_what_it_no_longer_applies_unless_others_own_it() -> None:
    w = write("deployer")
    config = {"metadata": {"labels": {"app": "web", "tier": "x"}}, "spec": copy.deepcopy(POD_SPEC)}
    config["spec"]["containers"][0]["env"].append({"name": "B", "value": "2"})
    live = fieldmanager.merge({"metadata": {"name": "web"}}, config)
    entries = fieldmanager.record_apply(None, live, config, [], w, force=False)
    smaller = copy.deepcopy(config)
    del smaller["metadata"]["labels"]["tier"]
    smaller["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    pruned = fieldmanager.apply_config(live, smaller, entries, w)
    assert pruned["metadata"]["labels"] == {"app": "web"}
    assert pruned["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    # another manager owning the label keeps it
    other = Entry("labeller", UPDATE, "v1", fields={("f:metadata", "f:labels", "f:tier")})
    kept = fieldmanager.apply_config(live, smaller, [*entries, other], w)
    assert kept["metadata"]["labels"] == {"app": "web", "tier": "x"}


def test_entries_encode_and_decode() -> None:
    entry = Entry("m", APPLY, "apps/v1", time="t", fields={("f:spec", "f:replicas")})
    encoded = fieldmanager.encode([entry])
    assert encoded == [
        {
            "manager": "m",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": "t",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        }
    ]
    assert fieldmanager.decode(encoded) == [entry]


def test_update_managers_are_capped() -> None:
    entries = [
        Entry(f"m{i}", UPDATE, "v1", time=f"2026-01-01T00:00:{i:02d}Z", fields={("f:a", f"f:{i}")})
        for i in range(12)
    ]
    capped = fieldmanager.cap_updates(entries)
    names = [e.manager for e in capped]
    assert len(names) == 10 and "ancient-changes" in names and "m0" not in names
    ancient = next(e for e in capped if e.manager == "ancient-changes")
    assert ancient.fields == {("f:a", "f:0"), ("f:a", "f:1"), ("f:a", "f:2")}


def test_field_manager_rules() -> None:
    with pytest.raises(errors.InvalidError, match="fieldManager: Required value"):
        fieldmanager.check_manager("", apply=True)
    with pytest.raises(errors.InvalidError, match="Too long"):
        fieldmanager.check_manager("x" * 129, apply=False)
    with pytest.raises(errors.InvalidError, match="force: Forbidden"):
        fieldmanager.check_patch_options("m", True)


def test_remove_finds_items_by_key_value_and_index() -> None:
    doc = {
        "metadata": {"finalizers": ["a", "b"]},
        "spec": {
            "ports": [{"port": 80}, {"port": 443, "protocol": "TCP"}],
            "containers": [{"name": "x", "image": "i", "env": [{"name": "A"}]}],
            "items": [{"n": 1}, {"n": 2}],
        },
    }
    fieldpaths.remove(doc, ("f:metadata", "f:finalizers", 'v:"a"'))
    fieldpaths.remove(doc, ("f:spec", "f:ports", 'k:{"port":443,"protocol":"TCP"}'))
    fieldpaths.remove(doc, ("f:spec", "f:containers", 'k:{"name":"x"}', "f:env"))
    fieldpaths.remove(doc, ("f:spec", "f:nothing", "f:here"))  # absent: no error
    assert doc["metadata"]["finalizers"] == ["b"]
    assert doc["spec"]["ports"] == [{"port": 80}]
    assert doc["spec"]["containers"] == [{"name": "x", "image": "i"}]
    assert fieldpaths.find_item(doc["spec"]["items"], "items", "i:1") == 1
    assert fieldpaths.find_item(doc["spec"]["items"], "items", "i:5") == -1


def test_an_item_without_its_key_is_found_by_index() -> None:
    found = fieldpaths.leaves({"env": [{"value": "x"}]})
    assert ("f:env", "i:0", "f:value") in found
